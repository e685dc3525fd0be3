"""Demo customers: a few hundred Chinese and international companies spread over the sales teams.

The name pools here also feed `customers.generators`, so generated data reads like the demo.
"""

from __future__ import annotations

import itertools
import random

from crm import roles
from crm.demo import DemoCompany, register
from customers.models import Company

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
EN_HEADS = [
    "Blue",
    "Golden",
    "Silver",
    "Red",
    "Pacific",
    "Eastern",
    "Northern",
    "Summit",
    "Bright",
    "Pioneer",
    "Apex",
    "Harbor",
    "Crystal",
    "Evergreen",
    "Orient",
    "Jade",
]
EN_TAILS = [
    "River",
    "Bridge",
    "Peak",
    "Star",
    "Wave",
    "Stone",
    "Lotus",
    "Dragon",
    "Crane",
    "Harbor",
    "Field",
    "Gate",
    "Tree",
    "Sky",
    "Cloud",
    "Bay",
]
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


DEMO_COMPANIES = 300


@register(has_data=lambda: Company.objects.exists())
def companies(demo: DemoCompany) -> str:
    owners = demo.members(roles.SALES_REP, roles.SALES_MANAGER)
    teams = {user.pk: demo.team_of(user) for user in owners}
    for _ in range(DEMO_COMPANIES):
        owner = demo.rng.choice(owners)
        company = Company(owner=owner, team=teams[owner.pk], lifecycle=lifecycle(demo.rng), **company_fields(demo.rng))
        company.save()
    return f"{DEMO_COMPANIES} companies"
