"""What each column of an uploaded file means.

Headers are compared after normalising case, width, spaces and punctuation, so "E-mail Address",
"email address" and "ＥＭＡＩＬ" are the same header. The aliases cover the exports of Outlook (in
English and Chinese), Google Contacts (both its CSV layouts), Thunderbird, Salesforce, Apple
Contacts and our own vCard reader, and Chinese WPS/Excel sheets.

Several columns may fill one of the MULTI_VALUE fields (Outlook's "E-mail Address", "E-mail 2
Address", ...): the first non-empty one fills the field, the kind decides what happens to the
rest. Headers in IGNORED_HEADERS (honorifics, middle names, fax numbers) are never guessed into a
field, and Outlook's "Title" is an honorific whenever the file also has a "Job Title".
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext_lazy as _

from customers.importing.kinds import get_kind

IGNORE = ""

COMPANY_FIELDS = {
    "name": _("Name"),
    "legal_name": _("Legal name"),
    "industry": _("Industry"),
    "website": _("Website"),
    "country": _("Country"),
    "province": _("Province / state"),
    "city": _("City"),
    "street": _("Street address"),
    "postcode": _("Postcode"),
    "phone": _("Phone"),
    "tax_id": _("Tax ID"),
    "external_id": _("External ID"),
    "tags": _("Tags"),
    "notes": _("Notes"),
    "owner": _("Owner (username)"),
}
CONTACT_FIELDS = {
    "full_name": _("Full name"),
    "family_name": _("Family name"),
    "given_name": _("Given name"),
    "title": _("Job title"),
    "company": _("Company"),
    "email": _("Email"),
    "phone": _("Phone"),
    "mobile": _("Mobile"),
    "birthday": _("Birthday"),
    "birth_year": _("Birthday: year"),
    "birth_month": _("Birthday: month"),
    "birth_day": _("Birthday: day"),
    "external_id": _("External ID"),
    "tags": _("Tags"),
    "notes": _("Notes"),
    "owner": _("Owner (username)"),
}
MULTI_VALUE = frozenset({"email", "phone", "mobile"})

# Never guessed into a field: an honorific is not a job title, a fax number is not a phone.
IGNORED_HEADERS = [
    "name prefix",
    "name suffix",
    "prefix",
    "suffix",
    "middle name",
    "additional name",
    "nickname",
    "business fax",
    "home fax",
    "other fax",
    "fax",
    "fax number",
    "pager",
    "pager number",
    "称谓",
    "后缀",
    "中间名",
    "昵称",
    "商务传真",
    "住宅传真",
    "其他传真",
    "传真",
    "寻呼机",
    "传真号码",
    "寻呼机号码",
    "e-mail type",
    "e-mail display name",
    "电子邮件类型",
    "电子邮件显示名称",
]
# A header that means another field when the file also has one of the given headers: Outlook's
# "Title" is an honorific beside "Job Title"; Thunderbird's "Birth Day" is the day of the month
# beside "Birth Year" (and normalises like "Birthday").
SHADOWED_BY = {
    "title": ({"jobtitle", "organizationtitle", "organization1title", "职务"}, IGNORE),
    "birthday": ({"birthyear", "birthmonth"}, "birth_day"),
}

# The person columns of address books, shared by contacts and leads.
PERSON_ALIASES = {
    "full_name": [
        "name",
        "full name",
        "display name",
        "contact name",
        "姓名",
        "联系人",
        "联系人姓名",
        "显示名称",
        "FN",
    ],
    "family_name": ["last name", "lastname", "family name", "surname", "姓", "N family"],
    "given_name": ["first name", "firstname", "given name", "名", "N given"],
    "title": [
        "title",
        "job title",
        "position",
        "organization title",
        "organization 1 - title",
        "职位",
        "职务",
        "头衔",
        "TITLE",
    ],
    "email": [
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "e-mail 2 address",
        "e-mail 3 address",
        "primary email",
        "secondary email",
        "首选邮件",
        "次选邮件",
        "email home",
        "email work",
        "email other",
        "e-mail 1 - value",
        "e-mail 2 - value",
        "e-mail 3 - value",
        "邮箱",
        "电子邮件",
        "电子邮箱",
        "邮件",
        "邮箱地址",
        "电子邮件地址",
        "电子邮件 2 地址",
        "电子邮件 3 地址",
        "EMAIL",
        "EMAIL 2",
        "EMAIL 3",
    ],
    "phone": [
        "phone",
        "telephone",
        "business phone",
        "business phone 2",
        "work phone",
        "home phone",
        "home phone 2",
        "other phone",
        "primary phone",
        "company main phone",
        "phone 2 - value",
        "phone 3 - value",
        "电话",
        "办公电话",
        "座机",
        "固定电话",
        "商务电话",
        "商务电话 2",
        "住宅电话",
        "住宅电话 2",
        "其他电话",
        "工作电话",
        "家庭电话",
        "主要电话",
        "TEL",
        "TEL WORK",
        "TEL HOME",
    ],
    "mobile": [
        "mobile",
        "mobile phone",
        "mobile number",
        "mobilephone",
        "cell",
        "cell phone",
        "phone 1 - value",
        "手机",
        "手机号",
        "手机号码",
        "移动电话",
        "TEL CELL",
    ],
}

_COMMON = {
    "external_id": ["external id", "externalid", "id", "record id", "外部编号", "编号"],
    "tags": [
        "tags",
        "tag",
        "labels",
        "label",
        "categories",
        "category",
        "group membership",
        "标签",
        "分类",
        "CATEGORIES",
    ],
    "notes": ["notes", "note", "description", "comments", "备注", "说明", "NOTE"],
    "owner": ["owner", "account owner", "contact owner", "负责人", "所有者", "归属人"],
}

COMPANY_ALIASES = {
    **_COMMON,
    "name": [
        "name",
        "company",
        "company name",
        "account name",
        "organization",
        "organisation",
        "organization 1 - name",
        "公司",
        "公司名称",
        "企业名称",
        "客户名称",
        "客户",
        "名称",
        "单位",
        "单位名称",
    ],
    "legal_name": ["legal name", "registered name", "全称", "公司全称", "工商名称"],
    "industry": ["industry", "行业", "所属行业"],
    "website": ["website", "web site", "web page", "business web page", "url", "网址", "网站", "官网", "公司网址"],
    "country": ["country", "country/region", "billing country", "business country/region", "国家", "国家/地区"],
    "province": [
        "province",
        "state",
        "billing state/province",
        "billing state",
        "business state",
        "省",
        "省份",
        "省/州",
        "省/自治区/直辖市",
    ],
    "city": ["city", "billing city", "business city", "城市", "市", "所在城市"],
    "street": [
        "street",
        "address",
        "billing street",
        "business street",
        "business address",
        "地址",
        "详细地址",
        "街道",
        "公司地址",
    ],
    "postcode": [
        "postcode",
        "postal code",
        "zip",
        "zip code",
        "billing zip/postal code",
        "business postal code",
        "邮编",
        "邮政编码",
    ],
    "phone": [
        "phone",
        "telephone",
        "business phone",
        "company phone",
        "main phone",
        "电话",
        "公司电话",
        "联系电话",
        "座机",
        "总机",
    ],
    "tax_id": ["tax id", "tax number", "vat", "vat number", "税号", "纳税人识别号", "统一社会信用代码", "信用代码"],
    "external_id": [*_COMMON["external_id"], "account id", "客户编号", "公司编号"],
}
CONTACT_ALIASES = {
    **_COMMON,
    **PERSON_ALIASES,
    "tags": [*_COMMON["tags"], "类别"],
    "notes": [*_COMMON["notes"], "附注"],
    "company": [
        "company",
        "organization",
        "organisation",
        "organization name",
        "organization 1 - name",
        "account name",
        "org",
        "公司",
        "公司名称",
        "单位",
        "单位名称",
        "ORG",
    ],
    "birthday": ["birthday", "birthdate", "date of birth", "生日", "出生日期", "BDAY"],
    "birth_year": ["birth year", "出生年份", "出生年"],
    "birth_month": ["birth month", "出生月份", "出生月"],
    "birth_day": ["birth day", "出生日"],
    "external_id": [*_COMMON["external_id"], "contact id", "UID", "联系人编号"],
}

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_header(header: str) -> str:
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", header or "").lower())


def fields_for(target: str) -> dict:
    return get_kind(target).fields


def _alias_table(target: str) -> dict[str, str]:
    aliases = get_kind(target).aliases
    table = {normalize_header(name): IGNORE for name in IGNORED_HEADERS}
    for field, names in aliases.items():
        for name in (field, *names):
            table.setdefault(normalize_header(name), field)
    return table


def auto_mapping(headers: list[str], target: str, saved: dict[str, str] | None = None) -> dict[str, str]:
    """{column index as text: field} for the headers we recognise; each field is used once,
    except the MULTI_VALUE ones, which several columns may fill.

    A saved mapping ({header: field}) wins over the built-in aliases.
    """
    table = _alias_table(target)
    saved_table = {normalize_header(h): f for h, f in (saved or {}).items()}
    valid = fields_for(target)
    present = {normalize_header(h) for h in headers}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        key = normalize_header(header)
        if key in saved_table:
            field = saved_table[key]
        elif key in SHADOWED_BY and present & SHADOWED_BY[key][0]:
            field = SHADOWED_BY[key][1]
        else:
            field = table.get(key, IGNORE)
        if field in valid and (field not in taken or field in MULTI_VALUE):
            mapping[str(index)] = field
            taken.add(field)
    return mapping


def mapping_by_header(headers: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """The mapping keyed by header text, as a saved mapping stores it."""
    return {headers[int(i)]: f for i, f in mapping.items() if f and i.isdigit() and int(i) < len(headers)}


# Two-character family names common enough to split correctly (司马懿 -> 司马 + 懿).
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "令狐",
        "钟离",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "百里",
        "呼延",
        "东郭",
        "闻人",
        "万俟",
        "澹台",
        "公冶",
        "濮阳",
        "淳于",
        "单于",
        "太叔",
        "申屠",
        "赫连",
        "拓跋",
        "完颜",
        "司空",
        "第五",
    ]
)
_CJK = re.compile(r"[\u3400-\u9fff]")


def split_full_name(name: str) -> tuple[str, str]:
    """(family name, given name). 王小明 -> 王 + 小明; 欧阳娜娜 -> 欧阳 + 娜娜;
    "Ada Lovelace" -> Lovelace + Ada; "Lovelace, Ada" -> Lovelace + Ada."""
    name = " ".join((name or "").split())
    if not name:
        return "", ""
    if _CJK.search(name):
        compact = name.replace(" ", "")
        if " " in name and len(name.split(" ")) == 2:
            family, given = name.split(" ")  # written with a space on purpose: 王 小明
            return family, given
        if len(compact) > 2 and compact[:2] in COMPOUND_SURNAMES:
            return compact[:2], compact[2:]
        if len(compact) == 1:
            return compact, ""
        return compact[0], compact[1:]
    if "," in name:
        family, _sep, given = name.partition(",")
        return family.strip(), given.strip()
    parts = name.split(" ")
    if len(parts) == 1:
        return "", parts[0]
    return parts[-1], " ".join(parts[:-1])
