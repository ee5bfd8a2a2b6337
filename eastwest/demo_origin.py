"""Demo data for the origin side: liaison stations in partner provinces and the workers they registered.

The ID numbers are fictitious but valid (real county codes, real check digits); phones use the 139 0000 range."""

from __future__ import annotations

from typing import Any

from stdnum.cn import ric

STATIONS: list[dict[str, Any]] = [
    {
        "name": "江苏驻西安新城劳务联络站",
        "province_code": "61",
        "county_code": "610102",
        "partner_city_code": "3205",
    },
    {
        "name": "江苏驻渭南临渭劳务联络站",
        "province_code": "61",
        "county_code": "610502",
        "partner_city_code": "3202",
    },
    {
        "name": "江苏驻贵阳南明劳务联络站",
        "province_code": "52",
        "county_code": "520102",
        "partner_city_code": "3201",
    },
    {
        "name": "江苏驻凯里劳务联络站",
        "province_code": "52",
        "county_code": "522601",
        "partner_city_code": "3206",
    },
    {
        "name": "江苏驻西宁城东劳务联络站",
        "province_code": "63",
        "county_code": "630102",
        "partner_city_code": "3209",
    },
    {
        "name": "江苏驻乌鲁木齐天山劳务联络站",
        "province_code": "65",
        "county_code": "650102",
        "partner_city_code": "3204",
    },
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["建国", "秀英", "小龙", "海燕", "志强", "丽娟", "永福", "春梅", "德胜", "玉兰", "明亮", "红霞"]
SKILLS = [["电焊"], ["叉车"], ["缝纫"], ["砌筑", "抹灰"], ["中式烹调"], ["保洁"], ["装配"], ["驾驶"]]
OCCUPATIONS = ["6-25-04-07", "6-18-02-04", "4-03-02-01", "4-09-08-02", "4-07-05-01", "4-02-07-08"]
CATEGORIES = [["poverty_alleviated"], ["rural_low_income"], ["poverty_alleviated", "dibao"], []]


def demo_workers(
    station_id: str, county_code: str, station_index: int, count: int = 12
) -> list[dict[str, Any]]:
    workers = []
    for index in range(count):
        serial = station_index * 100 + index
        born = f"{1995 + serial % 12}{1 + serial % 12:02d}{1 + serial % 27:02d}"
        body = f"{county_code}{born}{serial % 1000:03d}"
        workers.append(
            {
                "station_id": station_id,
                "name": SURNAMES[serial % len(SURNAMES)] + GIVEN[serial % len(GIVEN)],
                "id_number": body + ric.calc_check_digit(body + "0"),
                "phone": f"1390000{serial:04d}",
                "education": ["初中", "高中", "中专", "小学"][serial % 4],
                "categories": CATEGORIES[serial % len(CATEGORIES)],
                "key_region": serial % 5 == 0,
                "skills": SKILLS[serial % len(SKILLS)],
                "intention": {
                    "occupation_codes": [OCCUPATIONS[serial % len(OCCUPATIONS)]],
                    "city_codes": ["3205", "3202", "3201"][: 1 + serial % 3],
                    "min_salary": 4000 + (serial % 6) * 300,
                    "needs_dormitory": serial % 3 != 0,
                },
                "consent": {
                    "given_at": "2026-11-01T09:00:00+08:00",
                    "scope": "就业帮扶信息登记、岗位推荐与就业跟踪",
                },
            }
        )
    return workers
