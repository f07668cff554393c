import pytest

from annotate.errors import ValidationFailed
from annotate.label_schema import MEDIA_FRAMES, default_label_schema, label_schema_validate


def test_default_schema_is_valid_and_complete():
    schema = label_schema_validate(default_label_schema())
    assert schema["stance_labels"] == ["FAVOR", "AGAINST", "NEUTRAL", "UNRELATED"]
    assert len(MEDIA_FRAMES) == 15 and schema["frames"] == MEDIA_FRAMES
    assert {"PERSON", "ORG", "GPE", "QUOTE", "SPEAKER"} <= set(schema["span_labels"])


def test_partial_schema_takes_defaults():
    assert label_schema_validate({"stance_labels": ["PRO", "CON"]})["frames"] == MEDIA_FRAMES


@pytest.mark.parametrize(
    ("schema", "field", "message"),
    [
        ({"frames": ["Economic", "Economic"]}, "frames[1]", "duplicate 'Economic'"),
        ({"stance_labels": []}, "stance_labels", "must be a non-empty list of strings"),
        ({"span_labels": ["PERSON", "has space"]}, "span_labels[1]", "may only use letters"),
        ({"frames_required": "sometimes"}, "frames_required", "must be one of"),
        ({"colour": "red"}, "label_schema", "unknown key 'colour'"),
    ],
)
def test_errors_name_the_bad_field(schema, field, message):
    with pytest.raises(ValidationFailed) as info:
        label_schema_validate(schema)
    assert field in info.value.details
    assert any(message in m for m in info.value.details[field])
