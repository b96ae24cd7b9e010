"""Python values -> Podio's field write forms (docs/dev/podio-behaviour.md §5.5), and every rejection."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from podiokit.fields import (
    FORMS,
    DateRange,
    Duration,
    Email,
    Embed,
    FieldValueError,
    Location,
    Money,
    Phone,
    Progress,
    Raw,
    Ref,
    encode_field_value,
    encode_fields,
)

CET = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("Title", "Title", id="text"),
        pytest.param("", "", id="empty-text"),
        pytest.param(42, 42, id="int"),
        pytest.param(2.5, 2.5, id="float"),
        pytest.param(Decimal("6513.5100"), "6513.5100", id="decimal-exact"),
        pytest.param(Decimal("1E-7"), "0.0000001", id="decimal-no-exponent"),
        pytest.param(Money("456.00", "EUR"), {"value": "456.00", "currency": "EUR"}, id="money"),
        pytest.param(
            Money(Decimal("9.5"), "usd"), {"value": "9.5", "currency": "USD"}, id="money-lower"
        ),
        pytest.param(Money(10, "DKK"), {"value": "10", "currency": "DKK"}, id="money-int"),
        pytest.param(Money(0.1, "EUR"), {"value": "0.1", "currency": "EUR"}, id="money-float"),
        pytest.param(
            datetime(2016, 6, 24, 15, 0, tzinfo=timezone.utc),
            {"start_utc": "2016-06-24 15:00:00"},
            id="datetime-utc",
        ),
        pytest.param(
            datetime(2016, 6, 24, 0, 30, tzinfo=CET),
            {"start_utc": "2016-06-23 23:30:00"},
            id="datetime-converted-to-utc",
        ),
        pytest.param(date(2012, 12, 24), {"start_date": "2012-12-24"}, id="date"),
        pytest.param(
            DateRange(date(2012, 12, 24), date(2012, 12, 26)),
            {"start_date": "2012-12-24", "end_date": "2012-12-26"},
            id="date-range",
        ),
        pytest.param(
            DateRange(date(2012, 12, 24)), {"start_date": "2012-12-24"}, id="range-no-end"
        ),
        pytest.param(
            DateRange(
                datetime(2016, 6, 24, 19, tzinfo=timezone.utc),
                datetime(2016, 6, 30, 20, tzinfo=timezone.utc),
            ),
            {"start_utc": "2016-06-24 19:00:00", "end_utc": "2016-06-30 20:00:00"},
            id="datetime-range",
        ),
        pytest.param(Ref(4, 5), [4, 5], id="ref"),
        pytest.param([456, 789], [456, 789], id="id-list"),
        pytest.param((1,), [1], id="id-tuple"),
        pytest.param(Embed(55017316), [{"embed": 55017316, "file": None}], id="embed"),
        pytest.param(Embed(1, 2), [{"embed": 1, "file": 2}], id="embed-file"),
        pytest.param(
            [Embed(1), Embed(2, 3)],
            [{"embed": 1, "file": None}, {"embed": 2, "file": 3}],
            id="embeds",
        ),
        pytest.param(Location("Paris"), [{"value": "Paris"}], id="location-address"),
        pytest.param(
            Location("Paris", lat=48.85, lng=2.29),
            [{"value": "Paris", "lat": 48.85, "lng": 2.29}],
            id="location-coords",
        ),
        pytest.param(Location(lat=0, lng=0), [{"lat": 0, "lng": 0}], id="location-only-coords"),
        pytest.param(
            Phone("+19197936102"), [{"type": "work", "value": "+19197936102"}], id="phone"
        ),
        pytest.param(
            [Phone("1", "mobile"), Phone("2", "home")],
            [{"type": "mobile", "value": "1"}, {"type": "home", "value": "2"}],
            id="phones",
        ),
        pytest.param(
            Email("a@podio.com", "home"), [{"type": "home", "value": "a@podio.com"}], id="email"
        ),
        pytest.param(Duration(93784), 93784, id="duration"),
        pytest.param(timedelta(days=1, hours=2, minutes=3, seconds=4), 93784, id="timedelta"),
        pytest.param(Progress(75), 75, id="progress"),
        pytest.param(Progress(0), 0, id="progress-zero"),
        pytest.param(None, [], id="none-clears"),
        pytest.param([], [], id="empty-list-clears"),
        pytest.param(Ref(), [], id="empty-ref-clears"),
        pytest.param(
            Raw({"start": "2016-06-24 15:00:00"}), {"start": "2016-06-24 15:00:00"}, id="raw"
        ),
    ],
)
def test_write_forms(value: Any, expected: Any) -> None:
    assert encode_field_value(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(True, "True/False", id="bool"),
        pytest.param(float("nan"), "finite", id="nan"),
        pytest.param(float("inf"), "finite", id="inf"),
        pytest.param(Decimal("NaN"), "finite", id="decimal-nan"),
        pytest.param(Decimal("Infinity"), "finite", id="decimal-inf"),
        pytest.param(datetime(2016, 6, 24, 15), "naive", id="naive-datetime"),
        pytest.param(Money("1", "EURO"), "ISO 4217", id="currency-long"),
        pytest.param(Money("1", "E1R"), "ISO 4217", id="currency-digit"),
        pytest.param(Money("abc", "EUR"), "number", id="money-not-number"),
        pytest.param(Money(True, "EUR"), "number", id="money-bool"),
        pytest.param(Money(float("nan"), "EUR"), "finite", id="money-nan"),
        pytest.param(Money(Decimal("Infinity"), "EUR"), "finite", id="money-inf"),
        pytest.param(Progress(101), "0 to 100", id="progress-high"),
        pytest.param(Progress(-1), "0 to 100", id="progress-low"),
        pytest.param(Progress(50.5), "0 to 100", id="progress-float"),  # type: ignore[arg-type]
        pytest.param(Duration(-1), "negative", id="duration-negative"),
        pytest.param(Duration(1.5), "whole seconds", id="duration-float"),  # type: ignore[arg-type]
        pytest.param(timedelta(seconds=-1), "negative", id="timedelta-negative"),
        pytest.param(timedelta(seconds=1.5), "whole seconds", id="timedelta-fraction"),
        pytest.param([1, "a"], "one kind", id="mixed-list"),
        pytest.param([1, True], "one kind", id="int-bool-list"),
        pytest.param(["a", "b"], "not str", id="str-list"),
        pytest.param([0], "positive", id="zero-id"),
        pytest.param(Ref(-4), "positive", id="negative-ref"),
        pytest.param({"valeu": 1}, "match none", id="dict-unknown-key"),
        pytest.param(object(), "not a supported", id="object"),
        pytest.param(DateRange(date(2020, 1, 2), date(2020, 1, 1)), "before", id="range-backwards"),
        pytest.param(
            DateRange(date(2020, 1, 1), datetime(2020, 1, 2, tzinfo=timezone.utc)),
            "both dates",
            id="range-mixed",
        ),
        pytest.param(DateRange(datetime(2020, 1, 1)), "naive", id="range-naive"),
        pytest.param(DateRange("2020-01-01"), "date", id="range-str"),  # type: ignore[arg-type]
        pytest.param(Embed(0), "embed_id", id="embed-id"),
        pytest.param(Embed(1, -2), "file_id", id="embed-file-id"),
        pytest.param(Location(), "address or lat/lng", id="location-empty"),
        pytest.param(Location(lat=1.0), "both lat and lng", id="location-half"),
        pytest.param(Location(lat=91, lng=0), "lat", id="location-lat-range"),
        pytest.param(Location("  "), "non-empty", id="location-blank"),
        pytest.param(Phone("1", "cell"), "phone type", id="phone-type"),  # type: ignore[arg-type]
        pytest.param(Phone(""), "non-empty", id="phone-empty"),
        pytest.param(Email("podio.com"), "@", id="email-no-at"),
        pytest.param(Email("a@b.c", "mobile"), "email type", id="email-type"),  # type: ignore[arg-type]
    ],
)
def test_rejections_name_field_and_value(value: Any, reason: str) -> None:
    with pytest.raises(FieldValueError) as info:
        encode_fields({"my-field": value})
    err = info.value
    assert err.field == "my-field"
    assert err.value is value
    assert reason in str(err)
    assert "'my-field'" in str(err) and repr(value) in str(err)
    assert isinstance(err, ValueError)


def test_encode_fields_keys() -> None:
    body = encode_fields(
        {
            "title": "x",
            "category": [4, 5],
            142837427: Progress(75),
            "date": date(2012, 12, 24),
            "price": Money("456.00", "EUR"),
            "notes": None,
        }
    )
    assert body == {
        "title": "x",
        "category": [4, 5],
        "142837427": 75,
        "date": {"start_date": "2012-12-24"},
        "price": {"value": "456.00", "currency": "EUR"},
        "notes": [],
    }


@pytest.mark.parametrize("key", [True, 0, -5, "", 1.5, None])
def test_bad_keys(key: Any) -> None:
    with pytest.raises(FieldValueError, match="field"):
        encode_fields({key: "x"})


def test_duplicate_key() -> None:
    with pytest.raises(FieldValueError, match="twice"):
        encode_fields({5: "x", "5": "y"})


def test_not_a_mapping() -> None:
    with pytest.raises(FieldValueError, match="mapping"):
        encode_fields([("title", "x")])  # type: ignore[arg-type]


def test_single_value_error_without_field() -> None:
    with pytest.raises(FieldValueError) as info:
        encode_field_value(float("nan"))
    assert info.value.field is None
    assert str(info.value).startswith("field value: ")


# Podio's own write forms (docs/dev/podio-behaviour.md §5.5), as its docs and the official clients write them.
PODIO_FORMS = [
    pytest.param({"value": "x"}, id="value-text"),
    pytest.param({"value": 4}, id="value-id"),
    pytest.param({"value": 12.5}, id="value-float"),
    pytest.param({"value": "10", "currency": "EUR"}, id="money"),
    pytest.param({"start_date": "2012-12-24"}, id="date-only"),
    pytest.param({"start_date": "2012-12-24", "end_date": "2012-12-26"}, id="date-range"),
    pytest.param(
        {
            "start_date": "2012-12-24",
            "start_time": "09:00:00",
            "end_date": "2012-12-24",
            "end_time": "17:30:00",
        },
        id="date-time",
    ),
    pytest.param({"start_date": "2012-12-24", "start_time": None}, id="date-null-time"),
    pytest.param({"start_utc": "2016-06-24 19:00:00"}, id="utc"),
    pytest.param(
        {"start_utc": "2016-06-24 19:00:00", "end_utc": "2016-06-30 20:00:00"}, id="utc-range"
    ),
    pytest.param({"start_utc": "2016-06-24"}, id="utc-date-only"),
    pytest.param({"start": "2016-06-24 15:00:00", "end": "2016-06-24 16:00:00"}, id="local"),
    pytest.param({"type": "mobile", "value": "+4512345678"}, id="phone"),
    pytest.param({"type": "work", "value": "a@podio.com"}, id="email"),
    pytest.param({"embed": 55017316, "file": None}, id="embed"),
    pytest.param({"embed": 55017316, "file": 195174666}, id="embed-file"),
    pytest.param({"embed": 55017316}, id="embed-no-file"),
    pytest.param({"url": "https://podio.com/"}, id="embed-url"),
    pytest.param({"value": "Paris", "lat": 48.85, "lng": 2.29}, id="location"),
    pytest.param(
        {
            "value": "5 Avenue Anatole France",
            "city": "Paris",
            "postal_code": "75007",
            "country": "France",
            "street_address": "5 Avenue Anatole France",
        },
        id="location-structured",
    ),
    pytest.param({"lat": 0, "lng": 0}, id="location-coords"),
]


@pytest.mark.parametrize("form", PODIO_FORMS)
def test_podio_forms_pass_through(form: dict[str, Any]) -> None:
    assert encode_fields({"f": form}) == {"f": form}
    assert encode_fields({"f": [form, form]}) == {"f": [form, form]}  # lists of any of these


def test_podio_forms_normalise_only_what_podio_reads_alike() -> None:
    # A Decimal becomes its exact text; a currency its upper-case code.
    assert encode_field_value({"value": Decimal("1.50"), "currency": "eur"}) == {
        "value": "1.50",
        "currency": "EUR",
    }
    assert encode_field_value({"value": Decimal("2.25")}) == {"value": "2.25"}
    assert encode_field_value([{"value": 4}, {"value": 5}]) == [{"value": 4}, {"value": 5}]
    assert encode_field_value(7) == 7  # a bare id


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param({"value": "10", "currency": "EUR", "x": 1}, "match none", id="money-extra"),
        pytest.param({"value": "10", "curency": "EUR"}, "match none", id="money-typo"),
        pytest.param({"value": "ten", "currency": "EUR"}, "number", id="money-not-number"),
        pytest.param({"value": "10", "currency": "EURO"}, "ISO 4217", id="money-currency"),
        pytest.param({"value": "10", "currency": 978}, "ISO 4217", id="money-currency-int"),
        pytest.param({"value": True}, "string, a number", id="value-bool"),
        pytest.param({"value": None}, "string, a number", id="value-null"),
        pytest.param({"value": {"id": 3}}, "string, a number", id="value-dict"),
        pytest.param({"value": [1]}, "string, a number", id="value-list"),
        pytest.param({"value": float("nan")}, "finite", id="value-nan"),
        pytest.param({"start_date": "24/12/2012"}, "YYYY-MM-DD", id="date-format"),
        pytest.param({"start_date": "2012-02-30"}, "real date", id="date-unreal"),
        pytest.param({"start_date": date(2012, 12, 24)}, "YYYY-MM-DD", id="date-object"),
        pytest.param({"end_date": "2012-12-24"}, "needs start_date", id="date-no-start"),
        pytest.param(
            {"start_date": "2012-12-24", "start_time": "9am"}, "HH:MM:SS", id="date-time-format"
        ),
        pytest.param(
            {"start_date": "2012-12-24", "end_time": "10:00:00"}, "end_date", id="end-time-alone"
        ),
        pytest.param(
            {"start_date": "2012-12-24", "end_date": "2012-12-23"}, "before", id="date-backwards"
        ),
        pytest.param(
            {
                "start_date": "2012-12-24",
                "start_time": "10:00:00",
                "end_date": "2012-12-24",
                "end_time": "09:00:00",
            },
            "before",
            id="time-backwards",
        ),
        pytest.param(
            {"start_date": "2012-12-24", "start_utc": "2012-12-24 10:00:00"},
            "match none",
            id="date-forms-mixed",
        ),
        pytest.param({"start_utc": "2016-06-24T19:00:00Z"}, "YYYY-MM-DD", id="utc-iso"),
        pytest.param({"start_utc": 1466794800}, "YYYY-MM-DD", id="utc-int"),
        pytest.param(
            {"start_utc": "2016-06-24 19:00:00", "end_utc": "2016-06-24 18:00:00"},
            "before",
            id="utc-backwards",
        ),
        pytest.param({"end": "2016-06-24"}, "needs start", id="local-no-start"),
        pytest.param({"type": "bogus", "value": "1"}, "type is one of", id="typed-bad-type"),
        pytest.param({"type": "work"}, "non-empty", id="typed-no-value"),
        pytest.param({"type": "work", "value": 45}, "non-empty", id="typed-int-value"),
        pytest.param({"type": "work", "value": "1", "x": 1}, "match none", id="typed-extra"),
        pytest.param({"embed": "55017316"}, "embed id", id="embed-str"),
        pytest.param({"embed": 1, "file": 0}, "file id", id="embed-bad-file"),
        pytest.param({"embed": 1, "url": "https://x"}, "match none", id="embed-and-url"),
        pytest.param({"url": "podio.com"}, "http(s)", id="url-no-scheme"),
        pytest.param({"url": 5}, "http(s)", id="url-int"),
        pytest.param({"value": "Paris", "lat": "48.8", "lng": 2.2}, "lat", id="loc-lat-str"),
        pytest.param({"value": "Paris", "lat": 48.8}, "both lat and lng", id="loc-half"),
        pytest.param({"value": "Paris", "city": 75}, "city is a string", id="loc-city-int"),
        pytest.param({"city": "Paris"}, "address or lat/lng", id="loc-no-address"),
        pytest.param({1: "x"}, "match none", id="int-key"),
        pytest.param({}, "match none", id="empty-dict"),
        pytest.param([{"value": 1}, 2], "one kind", id="dict-and-id"),
        pytest.param([{"value": 1}, {"bogus": 2}], "match none", id="list-one-bad"),
    ],
)
def test_bad_podio_forms_are_rejected(value: Any, reason: str) -> None:
    with pytest.raises(FieldValueError) as info:
        encode_fields({"my-field": value})
    message = str(info.value)
    assert info.value.field == "my-field" and info.value.value is value
    assert reason in message
    assert "'my-field'" in message and repr(value) in message


def test_a_dict_matching_no_form_lists_the_forms() -> None:
    with pytest.raises(FieldValueError) as info:
        encode_fields({"amount": {"amount": "10", "currency": "EUR"}})
    message = str(info.value)
    assert message.startswith("field 'amount': a dict must be one of Podio's write forms")
    for form in FORMS:
        assert form in message
    assert "'amount', 'currency'" in message  # the keys it was given
