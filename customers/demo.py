"""Demo customers: Chinese and international companies spread over the sales teams, with their
contacts, the history of calls, meetings and visits, and the purchases that grade them.

Everything is written through `customers.services` acting as the record's owner (see
`crm.demo`). The name pools here also feed `customers.generators`, so generated data reads like
the demo.
"""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from decimal import Decimal

from django.db.models import F, Max, OuterRef, Subquery

from crm import roles
from crm.demo import DemoCompany, backdate, person, register, words
from crm.models import User
from crm.services import ShareLevel, record_share, saved_view_save
from customers import services
from customers.merge import MERGED, SURVIVOR, company_merge
from customers.models import Company, Contact, Interaction, Source, Tag, Transaction

# city -> province
CHINESE_CITIES = {
    "上海": "上海",
    "北京": "北京",
    "深圳": "广东",
    "广州": "广东",
    "杭州": "浙江",
    "宁波": "浙江",
    "苏州": "江苏",
    "南京": "江苏",
    "成都": "四川",
    "武汉": "湖北",
    "西安": "陕西",
    "天津": "天津",
    "重庆": "重庆",
    "厦门": "福建",
    "青岛": "山东",
    "长沙": "湖南",
}
# city -> ISO country code
WORLD_CITIES = {
    "Shanghai": "CN",
    "Shenzhen": "CN",
    "Hong Kong": "HK",
    "Singapore": "SG",
    "Taipei": "TW",
    "Tokyo": "JP",
    "Seoul": "KR",
    "Sydney": "AU",
    "London": "GB",
    "Frankfurt": "DE",
    "San Jose": "US",
}
_CHINESE_CITY_NAMES = list(CHINESE_CITIES)
_WORLD_CITY_NAMES = list(WORLD_CITIES)
BRAND_HEADS = "华金东宏新瑞博天中恒鼎汇安长盛永泰佳德信嘉远和光润智云海正同万明"
BRAND_TAILS = "信桥方达元丰远成联通盛泰安康华源禾晟科创辉航鑫宇昌隆瀚睿达捷诚"
# (Chinese trade word, Chinese industry, English industry)
TRADES = [
    ("科技", "信息技术", "Information technology"),
    ("电子", "电子制造", "Electronics"),
    ("软件", "软件", "Software"),
    ("物流", "物流", "Logistics"),
    ("贸易", "贸易", "Trading"),
    ("医疗器械", "医疗", "Healthcare"),
    ("生物科技", "生物医药", "Biotech"),
    ("新能源", "新能源", "Renewable energy"),
    ("机械", "机械制造", "Machinery"),
    ("食品", "食品饮料", "Food and beverage"),
    ("建筑工程", "建筑", "Construction"),
    ("教育科技", "教育", "Education"),
    ("文化传媒", "传媒", "Media"),
    ("化工", "化工", "Chemicals"),
    ("汽车零部件", "汽车", "Automotive"),
]
EN_HEADS = words(
    "Blue Golden Silver Red Pacific Eastern Northern Summit Bright Pioneer Apex Harbor Crystal Evergreen Orient Jade"
)
EN_TAILS = words("River Bridge Peak Star Wave Stone Lotus Dragon Crane Harbor Field Gate Tree Sky Cloud Bay")
EN_SUFFIXES = ["Ltd.", "Co., Ltd.", "Inc.", "Group", "Holdings", "Pte. Ltd.", "GmbH", "LLC"]
LIFECYCLE_WEIGHTS = [
    (Company.Lifecycle.POTENTIAL, 40),
    (Company.Lifecycle.ACTIVE, 30),
    (Company.Lifecycle.KEY, 8),
    (Company.Lifecycle.DORMANT, 14),
    (Company.Lifecycle.LOST, 8),
]


# Unified social credit codes: "91" (enterprise), a region code, then the organisation code.
REGION_CODES = ["310000", "110000", "440300", "440100", "330100", "320500", "320100", "510100"]
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def company_fields(rng: random.Random) -> dict:
    """Plausible values for one company: about 60% Chinese names, the rest international.

    `phone` and `tax_id` are plaintext; the model encrypts them when saved.
    """
    trade, industry_zh, industry_en = rng.choice(TRADES)
    if rng.random() < 0.6:
        city = rng.choice(_CHINESE_CITY_NAMES)
        name = f"{city}{rng.choice(BRAND_HEADS)}{rng.choice(BRAND_TAILS)}{trade}有限公司"
        return {
            "name": name,
            "legal_name": name,
            "industry": industry_zh,
            "city": city,
            "province": CHINESE_CITIES[city],
            "country": "CN",
            "website": "",
            "phone": f"+86 1{rng.choice('3589')}{rng.randrange(10)} {rng.randrange(10**8):08d}",
            "tax_id": f"91{rng.choice(REGION_CODES)}{''.join(rng.choices(CREDIT_CODE_CHARS, k=10))}",
        }
    head, tail = rng.choice(EN_HEADS), rng.choice(EN_TAILS)
    city = rng.choice(_WORLD_CITY_NAMES)
    short = f"{head} {tail} {industry_en.split()[0]}"
    return {
        "name": short,
        "legal_name": f"{short} {rng.choice(EN_SUFFIXES)}",
        "industry": industry_en,
        "city": city,
        "province": "",
        "country": WORLD_CITIES[city],
        "website": f"https://www.{head.lower()}{tail.lower()}.example.com",
        "phone": f"+65 6{rng.randrange(1000):03d} {rng.randrange(10000):04d}",
        "tax_id": "",
    }


_LIFECYCLES = [value for value, _weight in LIFECYCLE_WEIGHTS]
_LIFECYCLE_CUMULATIVE = list(itertools.accumulate(weight for _value, weight in LIFECYCLE_WEIGHTS))


def lifecycle(rng: random.Random) -> str:
    return rng.choices(_LIFECYCLES, cum_weights=_LIFECYCLE_CUMULATIVE)[0]


# --- The demo's story --------------------------------------------------------------------------

DEMO_COMPANIES = 120
# Pinyin of the brand characters, for the e-mail domains of Chinese companies.
_BRAND_SYLLABLES = (
    "hua jin dong hong xin rui bo tian zhong heng ding hui an chang sheng yong tai jia de xin jia yuan he "
    "guang run zhi yun hai zheng tong wan ming xin qiao fang da yuan feng yuan cheng lian tong sheng tai an "
    "kang hua yuan he sheng ke chuang hui hang xin yu chang long han rui da jie cheng"
)
BRAND_PINYIN = dict(zip(BRAND_HEADS + BRAND_TAILS, _BRAND_SYLLABLES.split(), strict=True))
TAGS = [("重点客户", "#d62728"), ("招投标", "#1f77b4"), ("渠道伙伴", "#2ca02c"), ("Export", "#9467bd")]
TITLES = [
    ("总经理", "General Manager"),
    ("采购经理", "Purchasing Manager"),
    ("技术总监", "CTO"),
    ("财务总监", "CFO"),
    ("IT 经理", "IT Manager"),
    ("运营总监", "Operations Director"),
    ("行政主管", "Office Manager"),
]
# kind -> (Chinese summary, English summary, details)
HISTORY = {
    Interaction.Kind.CALL: [
        ("电话沟通年度采购计划", "Call about next year's purchasing plan", "预算预计在下季度确定。"),
        ("电话确认交货时间", "Call to confirm delivery dates", ""),
        ("回访：了解设备使用情况", "Follow-up call on the installation", "客户反馈运行稳定，希望增加培训。"),
    ],
    Interaction.Kind.MEETING: [
        ("方案评审会议", "Solution review meeting", "技术部和采购部参加，需要补充实施计划。"),
        ("季度业务回顾", "Quarterly business review", ""),
        ("项目启动会", "Project kick-off meeting", ""),
    ],
    Interaction.Kind.VISIT: [
        ("上门拜访采购部", "Visited the purchasing team", "见到了新任采购经理。"),
        ("参观客户工厂", "Factory tour", ""),
    ],
    Interaction.Kind.NOTE: [
        ("决策人变更为新任总经理", "The new general manager now decides", ""),
        ("对竞争对手报价敏感", "Sensitive to competitor pricing", "上次报价比对手高 8%。"),
        ("客户希望合同按季度付款", "Wants quarterly payment terms", ""),
    ],
}
PURCHASES = [
    ("年度维保服务", "Annual support"),
    ("服务器采购", "Server purchase"),
    ("软件许可", "Software licences"),
    ("实施服务", "Implementation services"),
    ("备件", "Spare parts"),
]
# How long ago (days) a company of each lifecycle bought, and how often.
BUYING = {
    Company.Lifecycle.KEY: (5, 200, 4, 7),
    Company.Lifecycle.ACTIVE: (10, 300, 1, 4),
    Company.Lifecycle.DORMANT: (400, 700, 1, 3),
    Company.Lifecycle.LOST: (500, 720, 1, 2),
}
SIZES = [value for value, _label in Company.SizeBand.choices]
SOURCES = [Source.WEBSITE, Source.REFERRAL, Source.TRADE_SHOW, Source.CAMPAIGN, Source.PHONE, Source.PARTNER]
TRADE_SHOWS = ["2026 上海工博会", "2026 深圳高交会", "Webinar: cloud cost control"]


def mail_domain(company: Company) -> str:
    """The company's web domain, or one made from the brand in its Chinese name."""
    if company.website_domain:
        return company.website_domain
    brand = company.name[len(company.city) : len(company.city) + 2]
    return "".join(BRAND_PINYIN.get(ch, "") for ch in brand) + ".example.com"


class Story:
    """The customer side of the demo, built step by step."""

    def __init__(self, demo: DemoCompany):
        self.demo = demo
        self.rng = demo.rng
        self.sales = demo.members(roles.SALES_REP, roles.SALES_MANAGER)
        self.reps = demo.members(roles.SALES_REP)
        self.tags = {
            name: Tag.objects.get_or_create(name=name, defaults={"colour": colour})[0] for name, colour in TAGS
        }
        self.emails: set[str] = set()
        self.counts = {"companies": 0, "contacts": 0, "interactions": 0, "transactions": 0}

    def company(self, owner: User, *, created_days_ago: int, tags=(), **fields) -> Company:
        company = services.company_create(
            actor=owner,
            owner=owner,
            team=self.demo.team_of(owner),
            tags=[self.tags[name] for name in tags],
            **fields,
        )
        backdate(company, created_at=self.demo.days_ago(created_days_ago))
        self.counts["companies"] += 1
        return company

    def contact(
        self, owner: User, company: Company | None, *, created_days_ago: int, english: bool = False, **fields
    ) -> Contact:
        name = person(self.rng, chinese_share=0.2 if english else 0.85)
        email = f"{name.latin}@{mail_domain(company)}" if company else f"{name.latin}@mail.example.com"
        while email in self.emails:
            email = email.replace("@", f"{self.rng.randrange(10)}@", 1)
        self.emails.add(email)
        chinese_title, english_title = self.rng.choice(TITLES)
        fields.setdefault("title", english_title if english else chinese_title)
        fields.setdefault(
            "mobile", f"+86 1{self.rng.choice('3589')}{self.rng.randrange(10)} {self.rng.randrange(10**8):08d}"
        )
        if self.rng.random() < 0.3:
            fields.setdefault(
                "birthday",
                self.demo.today.replace(year=self.rng.randrange(1965, 1995))
                - timedelta(days=self.rng.randrange(-20, 300)),
            )
        contact = services.contact_create(
            actor=owner,
            owner=owner,
            team=self.demo.team_of(owner),
            company=company,
            family_name=name.family,
            given_name=name.given,
            email=email,
            preferred_language="en" if not name.chinese else "zh-hans",
            **fields,
        )
        backdate(contact, created_at=self.demo.days_ago(created_days_ago))
        self.counts["contacts"] += 1
        return contact

    def history(self, owner: User, company: Company, contacts: list[Contact], *, entries: int, english: bool) -> None:
        """Calls, meetings, visits and notes over the last half year (or since the company came in)."""
        since = min(180, (self.demo.now - company.created_at).days)
        for _ in range(entries):
            kind = self.rng.choice(list(HISTORY))
            chinese, english_summary, body = self.rng.choice(HISTORY[kind])
            services.interaction_add(
                actor=owner,
                kind=kind,
                summary=english_summary if english else chinese,
                body="" if english else body,
                company=company,
                contact=self.rng.choice(contacts) if contacts and self.rng.random() < 0.7 else None,
                occurred_at=self.demo.days_ago(self.rng.randrange(1, since + 2)),
            )
            self.counts["interactions"] += 1

    def purchases(self, owner: User, company: Company, contacts: list[Contact], *, english: bool) -> None:
        if company.lifecycle not in BUYING:
            return
        newest, oldest, fewest, most = BUYING[company.lifecycle]
        for n in range(self.rng.randint(fewest, most)):
            chinese, english_text = self.rng.choice(PURCHASES)
            day = self.demo.today - timedelta(days=self.rng.randrange(newest, oldest))
            recent = (self.demo.today - day).days < 30
            status = Transaction.Status.PENDING if recent and self.rng.random() < 0.4 else Transaction.Status.PAID
            if not recent and self.rng.random() < 0.05:
                status = Transaction.Status.REFUNDED
            services.transaction_record(
                actor=owner,
                company=company,
                contact=contacts[0] if contacts else None,
                date=day,
                amount=Decimal(self.rng.randrange(8, 600) * 1000),
                reference=f"SO-{day:%Y%m}-{company.pk:03d}{n}",
                description=english_text if english else chinese,
                status=status,
            )
            self.counts["transactions"] += 1

    def customer(self, owner: User, *, fields: dict, lifecycle: str, created_days_ago: int, tags=()) -> Company:
        """A company with its people, its history and its purchases."""
        english = fields["country"] != "CN" or not fields["tax_id"]
        company = self.company(
            owner,
            created_days_ago=created_days_ago,
            tags=tags,
            lifecycle=lifecycle,
            size_band=self.rng.choice(SIZES),
            source=self.rng.choice(SOURCES),
            **fields,
        )
        contacts = [
            self.contact(owner, company, english=english, created_days_ago=self.rng.randrange(1, created_days_ago + 2))
            for _ in range(self.rng.randint(1, 3))
        ]
        busy = lifecycle in (Company.Lifecycle.KEY, Company.Lifecycle.ACTIVE)
        self.history(
            owner,
            company,
            contacts,
            entries=self.rng.randint(2, 5) if busy else self.rng.randint(0, 2),
            english=english,
        )
        self.purchases(owner, company, contacts, english=english)
        return company


@register(has_data=lambda: Company.objects.exists())
def companies(demo: DemoCompany) -> str:
    story = Story(demo)
    people = demo.people
    by_owner: dict[int, list[Company]] = {}
    for n in range(DEMO_COMPANIES):
        # Reps carry most accounts; managers keep a few key ones.
        owner = demo.rng.choice(story.reps) if n % 8 else demo.rng.choice(story.sales)
        state = lifecycle(demo.rng)
        tags = (
            ["重点客户"]
            if state == Company.Lifecycle.KEY
            else demo.rng.sample(["招投标", "渠道伙伴", "Export"], k=demo.rng.randint(0, 1))
        )
        company = story.customer(
            owner,
            fields=company_fields(demo.rng),
            lifecycle=state,
            created_days_ago=demo.rng.randrange(30, 720),
            tags=tags,
        )
        by_owner.setdefault(owner.pk, []).append(company)
    _duplicates(story, people)
    _shares(story, by_owner)
    _marketing_contacts(story)
    for username in ("li.wei", "wang.fang"):
        saved_view_save(user=people[username], list_key="customers.company", name="重点客户", query="lifecycle=key")
    settle_last_activity()
    counts = story.counts
    return (
        f"{counts['companies']} companies, {counts['contacts']} contacts, "
        f"{counts['interactions']} interactions, {counts['transactions']} transactions"
    )


def _duplicates(story: Story, people: dict[str, User]) -> None:
    """Entered twice: one pair still waiting on the duplicates page, one already merged."""
    liu, zhang, emily = people["liu.yang"], people["zhang.min"], people["emily.chen"]
    shared = {"city": "宁波", "province": "浙江", "country": "CN", "industry": "贸易", "phone": "+86 574 8765 4321"}
    story.company(
        liu, created_days_ago=12, name="宁波永泰贸易有限公司", lifecycle=Company.Lifecycle.POTENTIAL, **shared
    )
    story.company(zhang, created_days_ago=3, name="永泰贸易（宁波）", lifecycle=Company.Lifecycle.POTENTIAL, **shared)
    web = {"city": "Singapore", "country": "SG", "industry": "Software", "website": "https://www.blueriver.example.com"}
    kept = story.customer(
        emily,
        fields={
            **web,
            "name": "Blue River Software",
            "legal_name": "Blue River Software Pte. Ltd.",
            "tax_id": "",
            "phone": "+65 6123 4567",
            "province": "",
        },
        lifecycle=Company.Lifecycle.ACTIVE,
        created_days_ago=200,
    )
    twin = story.company(
        emily, created_days_ago=20, name="Blue River Software Ltd.", lifecycle=Company.Lifecycle.POTENTIAL, **web
    )
    story.contact(emily, twin, english=True, created_days_ago=20)
    company_merge(
        survivor=kept,
        merged=twin,
        field_choices={"name": SURVIVOR, "legal_name": SURVIVOR, "lifecycle": SURVIVOR, "size_band": MERGED},
        actor=emily,
    )


def _shares(story: Story, by_owner: dict[int, list[Company]]) -> None:
    """Key accounts visible to support and marketing; a few accounts worked across the two sales teams."""
    demo = story.demo
    teams = demo.teams
    key_accounts = Company.objects.filter(lifecycle=Company.Lifecycle.KEY).select_related("owner").order_by("pk")
    for n, company in enumerate(key_accounts[:6]):
        level = ShareLevel.CHANGE if n < 2 else ShareLevel.VIEW
        record_share(obj=company, recipient=teams["Customer Support"].group, level=level, actor=company.owner)
        if n % 2 == 0:
            record_share(obj=company, recipient=teams["Marketing"].group, level=ShareLevel.VIEW, actor=company.owner)
    east, south = demo.people["emily.chen"], demo.people["sarah.johnson"]
    for company in by_owner.get(east.pk, [])[:2]:
        record_share(obj=company, recipient=south, level=ShareLevel.CHANGE, actor=east)
    for company in by_owner.get(south.pk, [])[:1]:
        record_share(obj=company, recipient=demo.people["wang.fang"], level=ShareLevel.VIEW, actor=south)
    # Support logs its follow-up on an account shared with it for editing.
    support = demo.people["zhou.qiang"]
    for company in key_accounts[:2]:
        services.interaction_add(
            actor=support,
            kind=Interaction.Kind.CALL,
            summary="售后回访：系统运行正常",
            company=company,
            occurred_at=demo.days_ago(story.rng.randrange(2, 20)),
        )
        story.counts["interactions"] += 1


def _marketing_contacts(story: Story) -> None:
    """People met at trade shows and webinars who agreed to hear from us."""
    for username in ("zhao.xue", "olivia.brown"):
        owner = story.demo.people[username]
        for _ in range(6):
            source = story.rng.choice(TRADE_SHOWS)
            met = story.rng.randrange(5, 60)
            contact = story.contact(
                owner,
                None,
                created_days_ago=met,
                english=username == "olivia.brown",
                email_opt_in=True,
                email_opt_in_source=source,
            )
            services.interaction_add(
                actor=owner,
                kind=Interaction.Kind.NOTE,
                summary=f"{source}：留下联系方式",
                contact=contact,
                occurred_at=story.demo.days_ago(met),
            )
            story.counts["interactions"] += 1


def settle_last_activity() -> None:
    """Last activity follows the timeline once the story's dates are set (a derived value): the
    latest entry, or the day the record came in. The last demo step calls it."""
    for model, field in ((Company, "company"), (Contact, "contact")):
        latest = Interaction.objects.filter(**{field: OuterRef("pk")}).values(field).annotate(at=Max("occurred_at"))
        with_history = Interaction.objects.filter(**{f"{field}__isnull": False}).values(field)
        model.objects.filter(pk__in=with_history).update(last_activity_at=Subquery(latest.values("at")[:1]))
        model.objects.exclude(pk__in=with_history).update(last_activity_at=F("created_at"))
