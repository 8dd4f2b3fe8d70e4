"""Phone number parsing: Russian forms, international E.164, and refusal of anything that
could change an Asterisk dial string. Expected digits are written by hand."""

import subprocess
import sys

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from trunkctl.errors import BadInput
from trunkctl.numbers import (
    PhoneNumber,
    local_channel,
    normalize_number,
    parse_caller_id,
    parse_number,
    pjsip_dial_string,
)


@pytest.mark.parametrize(
    ("raw", "digits", "region"),
    [
        ("89991234567", "79991234567", "RU"),
        ("79991234567", "79991234567", "RU"),
        ("+79991234567", "79991234567", "RU"),
        ("9991234567", "79991234567", "RU"),
        ("8 (999) 123-45-67", "79991234567", "RU"),
        ("+7 (999) 123-45-67", "79991234567", "RU"),
        ("+7 999 123 45 67", "79991234567", "RU"),
        ("8-495-123-45-67", "74951234567", "RU"),
        ("8.495.123.45.67", "74951234567", "RU"),
        ("  +7 958 111-45-85 ", "79581114585", "RU"),
        ("8 800 555-35-35", "78005553535", "RU"),
        ("+7\u00a0999\u00a0123\u201145\u201167", "79991234567", "RU"),  # pasted from a web page
        ("+7 701 123 4567", "77011234567", "KZ"),
        ("+380 44 123 4567", "380441234567", "UA"),
        ("00380441234567", "380441234567", "UA"),
        ("810380441234567", "380441234567", "UA"),
        ("+1 650 253 0000", "16502530000", "US"),
        ("+44 20 7946 0958", "442079460958", "GB"),
        ("+86 138 0013 8000", "8613800138000", "CN"),
    ],
)
def test_parse_accepts(raw: str, digits: str, region: str) -> None:
    number = parse_number(raw)
    assert (number.digits, number.region, number.valid) == (digits, region, True)
    assert normalize_number(raw) == digits


def test_phone_number_forms() -> None:
    number = parse_number("8 (999) 123-45-67")
    assert number.e164 == "+79991234567" == str(number)
    assert number.dial() == "79991234567"
    assert number.dial(plus=True) == "+79991234567"
    assert number.display() == "+7 999 123-45-67"
    assert number == PhoneNumber("79991234567", "RU", True)


@pytest.mark.parametrize(
    ("raw", "char", "position"),
    [
        ("7999123@4567", "@", 8),
        ("79991234567@evil", "@", 12),
        ("7999/1234567", "/", 5),
        ("79991234567&PJSIP/x", "&", 12),
        ("79991234567,30", ",", 12),
        ("79991234567;x", ";", 12),
        ("79991234567|x", "|", 12),
        ("79991234567\r", "\r", 12),
        ("79991234567\n", "\n", 12),
        ("7999\x001234567", "\x00", 5),
        ("7999\t1234567", "\t", 5),
        ("7999#1234567", "#", 5),
        ("*79991234567", "*", 1),
        ("79991234567 ext 5", "e", 13),
        ("7 999 123 45 67 доб. 5", "д", 17),
        ("7999１234567", "１", 5),  # fullwidth digit one
        ("7(999)(123)4567", "(", 7),
        ("7((999))1234567", "(", 3),
        ("7 999) 1234567", ")", 6),
        ("7 (999 1234567", "(", 3),
        ("()79991234567", ")", 2),
        ("7+9991234567", "+", 2),
        ("++79991234567", "+", 2),
        ("(+7) 9991234567", "+", 2),
        ("79991234567'", "'", 12),
        ('79991234567"', '"', 12),
        ("${EXTEN}", "$", 1),
    ],
)
def test_parse_refuses_characters_naming_them(raw: str, char: str, position: int) -> None:
    with pytest.raises(BadInput) as info:
        parse_number(raw)
    error = info.value
    assert error.details["char"] == char
    assert f"position {position}" in error.evidence.en  # type: ignore[union-attr]
    assert f"позиция {position}" in error.evidence.ru  # type: ignore[union-attr]
    shown = f"'{char}'" if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"
    assert shown in error.what.en and shown in error.what.ru
    assert error.next_step is not None and "79991234567" in error.next_step.ru


@pytest.mark.parametrize(
    ("raw", "what_en"),
    [
        ("", "No phone number given."),
        ("   ", "No phone number given."),
        ("+", "No phone number given."),
        ("-()-", None),
        ("8999123456", "A Russian number has 11 digits starting with 7 or 8; this one has 10."),
        ("899912345678", "A Russian number has 11 digits starting with 7 or 8; this one has 12."),
        ("+7999123456", "Wrong number of digits for a number in that country."),
        ("123", "Wrong number of digits for a number in that country."),
        ("+70000000000", "No such number range exists: check the digits and the country code."),
        ("+999 1234567", "This is not a phone number we can read."),
        ("7" * 41, "That is too long for a phone number (41 characters)."),
    ],
)
def test_parse_refuses_non_numbers(raw: str, what_en: str | None) -> None:
    with pytest.raises(BadInput) as info:
        parse_number(raw)
    if what_en is not None:
        assert info.value.what.en == what_en
    assert info.value.what.ru and info.value.next_step


def test_non_strict_accepts_possible_but_unallocated() -> None:
    number = parse_number("+70000000000", strict=False)
    assert (number.digits, number.valid) == ("70000000000", False)


def test_other_default_region() -> None:
    assert normalize_number("020 7946 0958", region="GB") == "442079460958"


def test_caller_id() -> None:
    assert parse_caller_id("+7 958 111-45-85").digits == "79581114585"
    with pytest.raises(BadInput) as info:
        parse_caller_id("+7000")
    assert info.value.what.en.startswith("Invalid caller ID. ")
    assert info.value.what.ru.startswith("Неверный номер звонящего (Caller ID). ")
    assert info.value.next_step is not None and "NovoFon" in info.value.next_step.en


def test_dial_strings() -> None:
    assert pjsip_dial_string("8 999 123-45-67", "novofon") == "PJSIP/79991234567@novofon"
    assert pjsip_dial_string("89991234567", "novofon", plus=True) == "PJSIP/+79991234567@novofon"
    assert local_channel(parse_number("+79991234567"), "outgoing") == "Local/79991234567@outgoing"
    assert local_channel("89991234567", "from-trunk_2.x") == "Local/79991234567@from-trunk_2.x"


@pytest.mark.parametrize(
    ("typed", "channel"),
    [
        # Foreign numbers go as +E.164: bare, Japan's and Korea's digits look like 8…
        # numbers to a Russian dialplan; Berlin's 10 digits would be read as Russian.
        ("+81 3 1234 5678", "Local/+81312345678@outgoing"),
        ("+82 2 1234 5678", "Local/+82212345678@outgoing"),
        ("+49 30 901820", "Local/+4930901820@outgoing"),
        ("+1 650 253 0000", "Local/+16502530000@outgoing"),
        ("+44 20 7031 3000", "Local/+442070313000@outgoing"),
        # +7 numbers stay bare digits (what hand-written outgoing contexts match).
        ("8 999 000 02 00", "Local/79990000200@outgoing"),
        ("+7 (999) 000-02-00", "Local/79990000200@outgoing"),
    ],
)
def test_a_parsed_number_reaches_the_channel_as_typed_never_re_read(
    typed: str, channel: str
) -> None:
    assert local_channel(parse_number(typed, strict=False), "outgoing") == channel


def test_e164_digits_from_the_log_are_not_read_as_russian() -> None:
    berlin = PhoneNumber.from_e164("4930901820")
    assert local_channel(berlin, "outgoing") == "Local/+4930901820@outgoing"
    assert local_channel(PhoneNumber.from_e164("79991234567"), "x") == "Local/79991234567@x"
    for bad in ("", "+7999", "7999 123", "٧٩٩٩", "1" * 16):
        with pytest.raises(BadInput):
            PhoneNumber.from_e164(bad)


@pytest.mark.parametrize(
    ("name", "char"),
    [("nov@fon", "@"), ("novofon/x", "/"), ("a&b", "&"), ("a,b", ","), ("a b", " "),
     ("a\nb", "\n"), ("нов", "н"), ("a;b", ";"), ("a)", ")")],
)  # fmt: skip
def test_dial_string_refuses_unsafe_names(name: str, char: str) -> None:
    with pytest.raises(BadInput) as info:
        pjsip_dial_string("89991234567", name)
    assert info.value.details["char"] == char
    with pytest.raises(BadInput):
        local_channel("89991234567", name)


@pytest.mark.parametrize("name", ["", "x" * 80])
def test_dial_string_refuses_empty_or_long_names(name: str) -> None:
    with pytest.raises(BadInput) as info:
        pjsip_dial_string("89991234567", name)
    assert info.value.what.en and info.value.what.ru and info.value.next_step


@settings(max_examples=400)
@given(st.text(max_size=60))
@example("79991234567\x00")
@example("8 (999) 123-45-67")
def test_any_text_gives_digits_or_bad_input(raw: str) -> None:
    try:
        digits = normalize_number(raw)
    except BadInput as error:
        assert error.what.en and error.what.ru and error.next_step is not None
    else:
        assert digits.isascii() and digits.isdigit() and 7 <= len(digits) <= 15


# Text made only of the characters a number may contain, to reach phonenumbers often.
number_like = st.text(alphabet="0123456789+-() .", min_size=1, max_size=30)


@settings(max_examples=400)
@given(number_like)
def test_number_like_text_gives_digits_or_bad_input(raw: str) -> None:
    try:
        number = parse_number(raw, strict=False)
    except BadInput:
        return
    assert number.digits.isascii() and number.digits.isdigit()
    assert pjsip_dial_string(number, "novofon") == f"PJSIP/{number.digits}@novofon"


@given(
    st.from_regex(r"9[0-9]{9}", fullmatch=True),
    st.sampled_from(
        ["8{}", "7{}", "+7{}", "{}", "8 ({}) {}-{}-{}", "+7 {} {} {} {}", "8-{}-{}-{}-{}"]
    ),
)
def test_russian_mobile_forms_agree(national: str, form: str) -> None:
    # Every way of writing the same Russian mobile number gives the same digits.
    parts = (national[:3], national[3:6], national[6:8], national[8:])
    raw = form.format(*parts) if form.count("{}") == 4 else form.format(national)
    assert normalize_number(raw, strict=False) == "7" + national


def test_import_does_not_load_phonenumbers() -> None:
    # The CLI's start-up time is budgeted: phonenumbers is loaded only when a number is parsed.
    code = (
        "import sys, trunkctl.numbers, trunkctl.codes; "
        "assert 'phonenumbers' not in sys.modules, 'loaded too early'; "
        "trunkctl.numbers.parse_number('89991234567'); "
        "assert 'phonenumbers' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
