"""The kinds of campaign and the evidence fields offices start with. Both lists
are data: administrators add to them, and nothing in code depends on a name."""

from django.db import migrations

KINDS = ["春节慰问", "送温暖", "困难职工帮扶", "助学", "医疗救助", "临时救助"]

# key, name, type, options, unit, help
FIELDS = [
    ("household_size", "家庭人口", "number", "", "人", "从户籍登记自动带出"),
    ("persons", "受助人数", "number", "", "人", "按人发放的类别：本次受助的人数"),
    ("oldest_age", "最年长成员年龄", "number", "", "岁", "从身份证号自动计算"),
    ("disabled_members", "残疾人数", "number", "", "人", "从户籍登记自动带出"),
    ("local_hukou", "本地户籍", "yes_no", "", "", "户主户籍在本地"),
    ("dibao", "低保户", "yes_no", "", "", ""),
    ("tekun", "特困供养", "yes_no", "", "", "五保、三无人员"),
    ("income_per_capita", "家庭人均月收入", "money", "", "元/人·月", ""),
    ("medical_self_pay", "合规自付医疗费", "money", "", "元", "年度内个人承担的合规医疗费"),
    ("hardship_costs", "年度致困费用", "money", "", "元", "年度内致困费用或损失"),
    ("disaster_loss", "家庭财产损失", "money", "", "元", "因灾因祸造成的损失"),
    (
        "hardship_cause",
        "致困原因",
        "choice",
        "因病\n因残\n因灾\n因意外事故\n因学\n失业\n缺劳动力\n其他",
        "",
        "",
    ),
    ("long_term_care", "有需常年护理的成员", "yes_no", "", "", ""),
    ("civil_compensation", "涉及民事赔偿", "yes_no", "", "", ""),
    ("veteran", "退役军人", "yes_no", "", "", ""),
    ("union_member", "工会会员", "yes_no", "", "", ""),
    ("registered_unemployed", "登记失业", "yes_no", "", "", ""),
]


def seed(apps, schema_editor):
    CampaignKind = apps.get_model("campaigns", "CampaignKind")
    EvidenceField = apps.get_model("campaigns", "EvidenceField")
    for order, name in enumerate(KINDS):
        CampaignKind.objects.get_or_create(name=name, defaults={"order": order})
    for order, (key, name, type_, options, unit, help_text) in enumerate(FIELDS):
        EvidenceField.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "type": type_,
                "options": options,
                "unit": unit,
                "help_text": help_text,
                "order": order,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
