"""SMS verification codes (wxapp/accounts/sms_codes.py) over the real Redis and the SMS
sandbox: six digits, stored hashed, five minutes, one live code per phone and purpose, a
minute between sends, five wrong tries, daily caps per phone and per address."""

import time
from datetime import timedelta

import pytest

from tests.sms import latest_code, messages
from wxapp.accounts import sms_codes, sms_limits
from wxapp.accounts.sms_codes import Purpose, check_code, mask_phone, send_code
from wxapp.config import load_config
from wxapp.errors import ConfigError, TooManyRequests, ValidationError
from wxapp.sms.client import SmsUnavailable

PHONE = "13800138001"
IP = "203.0.113.7"


@pytest.fixture
def send(app, clock, redis_client):
    def send_(phone=PHONE, purpose=Purpose.RESET, ip=IP):
        with app.test_request_context():
            return send_code(redis_client, app.config, phone, purpose, ip, clock.now())

    return send_


def bad(redis_client, code, phone=PHONE, purpose=Purpose.RESET):
    with pytest.raises(ValidationError) as err:
        check_code(redis_client, phone, purpose, code)
    assert err.value.field == "sms_code" and err.value.code == "bad_sms_code"


def other_than(code):
    return "000000" if code != "000000" else "111111"


def test_mask_phone():
    assert mask_phone("13800138001") == "138****8001"


def test_a_code_is_six_digits_sent_and_usable_once(app, send, redis_client):
    sent = send()
    assert sent == sms_codes.SentCode("8001", "138****8001", 60, 300)
    code = latest_code(app, PHONE)
    assert len(code) == 6 and code.isdigit()
    check_code(redis_client, PHONE, Purpose.RESET, code)
    bad(redis_client, code)  # consumed


def test_the_code_is_stored_hashed_not_in_clear(app, send, redis_client):
    send()
    code = latest_code(app, PHONE)
    dump = []
    for key in redis_client.scan_iter("*"):
        if key.startswith("sandbox:"):
            continue  # the sandbox is the phone: it holds the message, the app does not
        kind = redis_client.type(key)
        if kind == "list":  # the send durations (sms_codes.SEND_TIMES_KEY)
            value = redis_client.lrange(key, 0, -1)
        else:
            value = redis_client.hgetall(key) if kind == "hash" else redis_client.get(key)
        dump.append(f"{key}={value}")
    assert dump and not any(code in entry for entry in dump), dump
    assert f"{{p:{PHONE}}}:sms:reset" in "\n".join(dump)


def test_the_code_lives_five_minutes(app, send, redis_client):
    send()
    key = f"{{p:{PHONE}}}:sms:reset"
    assert 295 <= redis_client.ttl(key) <= 300
    redis_client.pexpire(key, 20)  # what five minutes do
    time.sleep(0.05)
    bad(redis_client, latest_code(app, PHONE))


def test_one_live_code_per_phone_and_purpose(app, send, clock, redis_client):
    send()
    first = latest_code(app, PHONE)
    clock.advance(61)
    send()
    second = latest_code(app, PHONE)
    if first != second:
        bad(redis_client, first)
    check_code(redis_client, PHONE, Purpose.RESET, second)


def test_a_code_serves_only_its_purpose(app, send, redis_client):
    send(purpose=Purpose.ACTIVATE)
    code = latest_code(app, PHONE)
    bad(redis_client, code, purpose=Purpose.RESET)
    check_code(redis_client, PHONE, Purpose.ACTIVATE, code)


def test_a_minute_between_sends_to_a_phone(app, send, clock, redis_client):
    send()
    clock.advance(59)
    with pytest.raises(TooManyRequests) as err:
        send()  # asked again for the same: told to wait
    assert err.value.code == "sms_too_soon" and err.value.extra["retry_after"] == 1
    assert "1 秒后再试" in err.value.message
    # Asked by another username (忘记密码 by ID number), the phone's own minute holds the
    # send back without saying so: answered as sent, nothing sent; the code it got serves.
    with app.test_request_context():
        held = send_code(
            redis_client, app.config, PHONE, Purpose.RESET, IP, clock.now(), asked_as="ID"
        )
    assert held == sms_codes.SentCode("8001", "138****8001", 60, 300)
    assert len(messages(app, PHONE)) == 1
    # Another purpose has a minute of its own: its code is sent.
    send(purpose=Purpose.ACTIVATE)
    assert len(messages(app, PHONE)) == 2
    clock.advance(1)
    send()
    assert len(messages(app, PHONE)) == 3


def test_a_refused_send_is_answered_as_sent_except_to_the_proven_owner(
    app, send, clock, redis_client
):
    sandbox = app.test_client()
    sandbox.post("/_sandbox/sms/switches", json={"fail": "InternalError.Timeout", "times": 2})
    assert send().phone_tail == "8001"
    clock.advance(61)
    with app.test_request_context(), pytest.raises(SmsUnavailable):
        send_code(redis_client, app.config, PHONE, Purpose.REBIND, IP, clock.now(), by_owner=True)
    # The owner, told, may ask again at once.
    with app.test_request_context():
        send_code(redis_client, app.config, PHONE, Purpose.REBIND, IP, clock.now(), by_owner=True)
    assert len(messages(app, PHONE)) == 1


def test_the_phones_own_day_holds_back_what_other_purposes_ask_without_saying_so(
    app, send, clock, redis_client
):
    for _ in range(sms_limits.PHONE_DAILY_CAP):
        send()
        clock.advance(61)
    assert send(purpose=Purpose.REGISTER).phone_tail == "8001"
    assert len(messages(app, PHONE)) == sms_limits.PHONE_DAILY_CAP
    # Its proven owner is told, and has an allowance of their own.
    with app.test_request_context():
        owner = send_code(
            redis_client, app.config, PHONE, Purpose.REBIND, IP, clock.now(), by_owner=True
        )
    assert owner.phone_tail == "8001"
    assert len(messages(app, PHONE)) == sms_limits.PHONE_DAILY_CAP + 1
    clock.advance(61)
    for _ in range(sms_limits.OWNER_DAILY_CAP - 1):
        with app.test_request_context():
            send_code(
                redis_client, app.config, PHONE, Purpose.REBIND, IP, clock.now(), by_owner=True
            )
        clock.advance(61)
    with app.test_request_context(), pytest.raises(TooManyRequests) as err:
        send_code(redis_client, app.config, PHONE, Purpose.REBIND, IP, clock.now(), by_owner=True)
    assert err.value.code == "sms_daily_cap" and err.value.message == sms_limits.PHONE_CAP_MESSAGE


def test_five_wrong_tries_burn_the_code(app, send, redis_client):
    send()
    code = latest_code(app, PHONE)
    for _ in range(4):
        bad(redis_client, other_than(code))
    check_code(redis_client, PHONE, Purpose.RESET, code)  # the fifth try may be right


def test_the_fifth_wrong_try_burns_it(app, send, redis_client):
    send()
    code = latest_code(app, PHONE)
    for _ in range(5):
        bad(redis_client, other_than(code))
    bad(redis_client, code)


def test_not_a_code_spends_no_try(app, send, redis_client):
    send()
    code = latest_code(app, PHONE)
    for junk in ("", "12345", "abcdef", "1234567", " " * 6):
        bad(redis_client, junk)
    check_code(redis_client, PHONE, Purpose.RESET, code)


def test_a_daily_cap_per_phone(app, send, clock):
    for _ in range(sms_limits.PHONE_DAILY_CAP):
        send()
        clock.advance(61)
    with pytest.raises(TooManyRequests) as err:
        send()
    assert err.value.code == "sms_daily_cap"
    assert len(messages(app, PHONE)) == sms_limits.PHONE_DAILY_CAP
    clock.set(clock.now().replace(hour=16, minute=1) + timedelta(days=1))  # next day in China
    send()


def test_a_daily_cap_per_address(app, send, clock):
    assert app.config["SMS_IP_DAILY_CAP"] == 30  # the default
    for n in range(30):
        send(phone=f"1390000{n:04d}")
    with pytest.raises(TooManyRequests) as err:
        send(phone="13911112222")
    assert err.value.code == "sms_daily_cap"
    assert messages(app, "13911112222") == []
    send(phone="13911112222", ip="198.51.100.9")  # another address still may


def test_the_cap_per_address_is_a_setting_for_units_activating_on_site(app, send):
    """A hospital activating its roster during a training session: all behind one address."""
    app.config["SMS_IP_DAILY_CAP"] = 40
    for n in range(40):
        send(phone=f"1390000{n:04d}")
    with pytest.raises(TooManyRequests):
        send(phone="13911112222")


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_a_bad_cap_per_address_refuses_to_start_naming_it(tmp_path, value):
    with pytest.raises(ConfigError, match="SMS_IP_DAILY_CAP"):
        load_config(tmp_path, {"WXAPP_SANDBOX": "1", "SMS_IP_DAILY_CAP": value})


def test_keys_of_a_phone_share_one_cluster_slot(app, send, redis_client):
    send()
    keys = [k for k in redis_client.scan_iter(f"{{p:{PHONE}}}:*")]
    assert len(keys) >= 3 and all(k.startswith(f"{{p:{PHONE}}}:") for k in keys)


def test_an_ipv6_site_shares_one_daily_cap_across_its_networks(app, send):
    """A script hopping across the /64s of one /48 (a site's allocation) gets one cap."""
    app.config["SMS_IP_DAILY_CAP"] = 3
    for n in range(3):
        send(phone=f"1390000{n:04d}", ip=f"2001:db8:7:{n:x}::/64")
    with pytest.raises(TooManyRequests) as err:
        send(phone="13911112222", ip="2001:db8:7:ff::/64")
    assert err.value.code == "sms_daily_cap"
    send(phone="13911112222", ip="2001:db8:8::/64")  # another site still may


def test_the_whole_service_has_a_daily_cap_on_what_sms_costs(app, send, clock, caplog):
    """However many addresses and phones a script uses, the day's codes are bounded."""
    app.config["SMS_DAILY_CAP"] = 4
    for n in range(4):
        send(phone=f"1390000{n:04d}", ip=f"198.51.100.{n + 1}")
    for n in range(2):
        with pytest.raises(TooManyRequests) as err:
            send(phone=f"1391111{n:04d}", ip=f"192.0.2.{n + 1}")
        assert err.value.code == "sms_service_cap"
        assert "400-023-9229" in err.value.message
    assert messages(app, "13911110000") == []
    assert caplog.text.count("SMS_DAILY_CAP (4) reached") == 1  # the operators are told once
    clock.set(clock.now().replace(hour=16, minute=1) + timedelta(days=1))  # next day in China
    send(phone="13911110000", ip="192.0.2.1")


@pytest.mark.parametrize("value", ["0", "many"])
def test_a_bad_service_cap_refuses_to_start_naming_it(tmp_path, value):
    with pytest.raises(ConfigError, match="SMS_DAILY_CAP"):
        load_config(tmp_path, {"WXAPP_SANDBOX": "1", "SMS_DAILY_CAP": value})
