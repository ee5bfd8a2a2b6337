"""The Chinese names of the platform's own codes that more than one service shows (a roster, a figure, a
report): worker categories, how and where a worker is employed, warnings, application channels."""

from __future__ import annotations

CATEGORY_NAMES: dict[str, str] = {
    "poverty_alleviated": "脱贫人口",
    "registered_low_income": "原建档立卡低收入人口",
    "rural_low_income": "农村低收入人口",
    "dibao": "低保对象",
}

EMPLOYMENT_HOW_NAMES: dict[str, str] = {
    "placed": "平台安置",
    "self_found": "自主就业",
    "public_welfare": "公益性岗位",
    "self_employed": "自主创业",
    "flexible": "灵活就业",
}

EMPLOYMENT_WHERE_NAMES: dict[str, str] = {
    "jiangsu": "在苏就业",
    "home_county": "本县就业",
    "home_province": "省内县外就业",
    "other_province": "其他省份就业",
}

WARNING_NAMES: dict[str, str] = {
    "employed_to_unemployed": "就业转失业",
    "placement_ended": "安置岗位结束",
    "left_job": "回访发现离岗",
    "no_contract": "未签劳动合同",
    "wage_arrears": "工资未足额按时发放",
    "insurance_stopped": "社保缴费中断（平台记录为在岗）",
    "insurance_unrecorded_job": "在其他单位参保（平台记录为未就业）",
    "insurance_other_employer": "参保单位与平台记录的用人单位不一致",
}

INSURANCE_WARNINGS = ("insurance_stopped", "insurance_unrecorded_job", "insurance_other_employer")

CHANNEL_NAMES: dict[str, str] = {
    "station": "联络站推荐",
    "online": "网上求职",
    "livestream": "直播带岗",
    "onsite": "现场招聘",
}
