"""WeChat Pay v3: the client (wechatpayv3, public-key mode), notification checks, the paid transition."""
