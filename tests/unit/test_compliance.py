"""Publication compliance: discriminatory requirements and pay below the minimum wage."""

from datetime import date

import pytest

from services.supply.compliance import (
    BELOW_MINIMUM_WAGE,
    ETHNICITY,
    HEALTH,
    REGION,
    SEX,
    ComplianceIssue,
    check_posting,
    discriminatory_terms,
    normalise,
)


def codes(text: str) -> set[str]:
    return {issue.code for issue in discriminatory_terms(text)}


@pytest.mark.parametrize(
    "text",
    [
        "限男性",
        "仅招男性",
        "只招女工",
        "男性优先",
        "女士优先",
        "限男",
        "性别：男",
        "性别要求:女",
        "要求：女性",
        "不招女性",
        "女性勿扰",
        "女的免谈",
        "男女不限，女性优先",
        "未婚未育",
        "已婚已育优先",
        "孕妇勿扰",
        "限未婚",
    ],
)
def test_sex_discrimination(text: str) -> None:
    assert codes(text) == {SEX}


@pytest.mark.parametrize(
    "text",
    [
        "仅限汉族",
        "限汉族",
        "不招少数民族",
        "不招维族",
        "不招藏族",
        "不招回族",
        "回族除外",
        "汉族优先",
        "维吾尔族勿扰",
        "民族：汉族",
        "谢绝少数民族",
    ],
)
def test_ethnic_discrimination(text: str) -> None:
    assert codes(text) == {ETHNICITY}


@pytest.mark.parametrize(
    "text",
    [
        "不招河南人",
        "不要甘肃人",
        "不要四川籍",
        "限本地户籍",
        "仅限江苏籍",
        "只招本地人",
        "限本市户口",
        "外地人勿扰",
        "外地勿扰",
        "不要外地人",
        "东北人免谈",
        "新疆籍人员不予考虑",
        "河南籍优先考虑",
        "本地人优先",
        "本地户口优先",
        "苏州本地人优先",
        "不招农村户口",
        "不收外省",
    ],
)
def test_region_discrimination(text: str) -> None:
    assert codes(text) == {REGION}


@pytest.mark.parametrize(
    "text",
    [
        "乙肝携带者勿扰",
        "乙肝勿扰",
        "乙肝病毒携带者免谈",
        "不招乙肝患者",
        "无乙肝",
        "入职体检含乙肝五项",
        "需查两对半",
        "小三阳勿扰",
        "ＨＩＶ携带者免谈",
    ],
)
def test_health_discrimination(text: str) -> None:
    assert codes(text) == {HEALTH}


@pytest.mark.parametrize(
    "text",
    [
        "男女不限",
        "不限性别",
        "男女均可",
        "男女皆可",
        "性别：男女不限",
        "性别不限",
        "不限男女",
        "男女比例均衡",
        "欢迎少数民族",
        "少数民族优先",
        "民族不限",
        "提供清真餐，少数民族不要担心饮食。",
        "欢迎各地人员",
        "面向河南、四川、贵州等地招聘",
        "户籍不限",
        "不要求本地户籍",
        "外地人员优先安排宿舍",
        "工作地点仅限苏州工业园区",
        "男装缝纫工",
        "女装店导购",
        "招聘女装缝纫工，男女不限，包吃住",
        "男鞋仓库理货员",
        "要求男士着正装",
        "女工宿舍干净整洁",
        "免费接种乙肝疫苗",
        "公司无乙肝歧视",
        "需办理健康证，入职体检",
        "水族馆饲养员，只要水族馆工作经验",
        "会看图纸者优先",
        "欢迎脱贫人口和退役军人",
    ],
)
def test_neutral_phrases_are_not_flagged(text: str) -> None:
    assert discriminatory_terms(text) == []


def test_full_width_and_spaces_are_normalised() -> None:
    assert codes("限 男 性") == {SEX}
    assert codes("限\u200b男性") == {SEX}
    assert codes("性别：　男") == {SEX}
    assert normalise("ＨＢｓＡｇ 阳性：") == "hbsag阳性:"


def test_message_names_the_phrase_and_law() -> None:
    (issue,) = discriminatory_terms("本岗位不招河南人，待遇从优")
    assert issue.code == REGION
    assert "「不招河南人」" in issue.message
    assert "就业促进法" in issue.message
    (health,) = discriminatory_terms("乙肝携带者勿扰")
    assert "第三十条" in health.message


def test_each_distinct_phrase_reported_once() -> None:
    issues = discriminatory_terms("限男性。限男性。不招女性")
    assert [issue.code for issue in issues] == [SEX, SEX]


def test_several_kinds_in_one_text() -> None:
    assert codes("限男性，仅限汉族，不招河南人，乙肝勿扰") == {SEX, ETHNICITY, REGION, HEALTH}


# --- check_posting --------------------------------------------------------------------------------------------

ON = date(2025, 3, 1)


def test_clean_posting_has_no_issues() -> None:
    assert (
        check_posting(
            texts=["电子产品装配工", "无尘车间作业，男女不限，包吃住", "欢迎各地人员"],
            salary_min=5200,
            city_code="3205",
            on=ON,
        )
        == []
    )


def test_discrimination_deduplicated_by_code_across_texts() -> None:
    issues = check_posting(
        texts=["普工（限男性）", "男性优先，不招河南人", "外地人勿扰"],
        salary_min=6000,
        city_code="3205",
        on=ON,
    )
    assert [issue.code for issue in issues] == [SEX, REGION]


def test_below_minimum_wage() -> None:
    issues = check_posting(texts=["保洁员"], salary_min=2000, city_code="3205", on=ON)
    assert issues == [
        ComplianceIssue(
            code=BELOW_MINIMUM_WAGE,
            message=(
                "月薪下限2000元低于苏州市最低工资标准2280元（自2021年8月1日起执行，"
                "依据江苏省人力资源和社会保障厅关于调整全省最低工资标准的通知（苏人社发〔2021〕72号）），"
                "请调整薪资后再发布。"
            ),
        )
    ]


def test_exactly_minimum_wage_is_allowed() -> None:
    assert check_posting(texts=[], salary_min=2280, city_code="3205", on=ON) == []
    assert check_posting(texts=[], salary_min=1840, city_code="3213", on=ON) == []
    assert [i.code for i in check_posting(texts=[], salary_min=1839, city_code="3213", on=ON)] == [
        BELOW_MINIMUM_WAGE
    ]


def test_lowest_tier_city_accepts_what_a_higher_tier_city_rejects() -> None:
    assert check_posting(texts=[], salary_min=2000, city_code="3213", on=ON) == []
    assert check_posting(texts=[], salary_min=2000, city_code="3202", on=ON) != []


def test_no_wage_issue_without_data() -> None:
    assert check_posting(texts=[], salary_min=100, city_code="9999", on=ON) == []
    assert check_posting(texts=[], salary_min=100, city_code="3205", on=date(2020, 1, 1)) == []


def test_discrimination_comes_before_pay() -> None:
    issues = check_posting(texts=["乙肝勿扰"], salary_min=1000, city_code="3201", on=ON)
    assert [issue.code for issue in issues] == [HEALTH, BELOW_MINIMUM_WAGE]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("限男性，汉族", {SEX, ETHNICITY}),
        ("限男性、汉族", {SEX, ETHNICITY}),
        ("仅限18-45岁男性，汉族", {SEX, ETHNICITY}),
        ("要求：男性，汉族，本地户籍", {SEX, ETHNICITY, REGION}),
        ("不招女性、少数民族", {SEX, ETHNICITY}),
        ("女性、少数民族勿扰", {SEX, ETHNICITY}),
        ("限汉族，女", {SEX, ETHNICITY}),
        ("限本地人、男性", {SEX, REGION}),
    ],
)
def test_each_group_of_a_listed_restriction_is_caught(text: str, expected: set[str]) -> None:
    """One restriction word governs every group listed after it, not only the first."""
    assert codes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("限男性，欢迎少数民族", {SEX}),
        ("限苏州工作，男女不限，少数民族优先", set()),
        ("限招电焊工，民族不限", set()),
    ],
)
def test_a_listed_restriction_ends_at_the_first_word_that_is_no_group(text: str, expected: set[str]) -> None:
    assert codes(text) == expected
