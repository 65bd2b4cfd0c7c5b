"""The adapter to Tencent Cloud SMS; it knows no domain area.

- `client`: `send_sms` sends one templated message through the official SDK
  (tencentcloud-sdk-python-sms, SendSms of API 2021-01-11) to the endpoint SMS_API_BASE
  names: Tencent Cloud's, or the built-in sandbox's in sandbox mode. What the message is for
  (a verification code, its purpose) is `wxapp.accounts.sms_codes`'s, or
  `wxapp.notifications.sms_notices`'s for a notice.
"""
