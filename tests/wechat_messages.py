"""What WeChat's servers post to the channel: XML messages and events, signed as WeChat signs them,
plain or encrypted (safe mode), and the helpers that post them to a running Rasa."""

from __future__ import annotations

import itertools
import time
import urllib.error
import urllib.request
from typing import Dict, Optional, Tuple
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner, to_text

WECHAT_TOKEN = "wechat-test-token"
APP_ID = "wx0123456789abcdef"
APP_SECRET = "wechat-test-app-secret"
ENCODING_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_hospital_account"

_serial = itertools.count(int(time.time() * 1000))


def openid() -> str:
    """A fresh follower, so tests never see each other's conversations."""
    return f"o-test-{next(_serial)}"


def msg_id() -> int:
    return next(_serial)


def _xml(sender: str, kind: str, fields: Dict[str, object], create_time: Optional[int] = None) -> str:
    extra = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in fields.items())
    return (
        f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>{sender}</FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType>{kind}</MsgType>{extra}</xml>"
    )


def text_xml(sender: str, content: str, msg_id: Optional[int] = None) -> str:
    return _xml(sender, "text", {"Content": content, "MsgId": msg_id or next(_serial)})


def message_xml(sender: str, kind: str, **fields: object) -> str:
    """An image, voice, location … message: `fields` are its XML elements (PicUrl, Recognition, Location_X …)."""
    return _xml(sender, kind, {**fields, "MsgId": fields.pop("MsgId", None) or next(_serial)})


def event_xml(sender: str, event: str, key: str = "", create_time: Optional[int] = None) -> str:
    return _xml(sender, "event", {"Event": event, "EventKey": key}, create_time=create_time)


def signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def signed_query(token: str = WECHAT_TOKEN, **extra: str) -> Dict[str, str]:
    timestamp, nonce = str(int(time.time())), str(next(_serial))
    return {"signature": signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra}


def encrypted(xml: str, query: Dict[str, str]) -> Tuple[str, Dict[str, str]]:
    """The body and query WeChat sends in safe mode for `xml` (the query keeps its plain `signature`)."""
    crypto = WeChatCrypto(WECHAT_TOKEN, ENCODING_AES_KEY, APP_ID)
    envelope = crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
    fields = xmltodict.parse(to_text(envelope))["xml"]
    body = f"<xml><ToUserName>{ACCOUNT}</ToUserName><Encrypt><![CDATA[{fields['Encrypt']}]]></Encrypt></xml>"
    return body, {**query, "encrypt_type": "aes", "msg_signature": fields["MsgSignature"]}


def post(rasa_url: str, body: str, query: Dict[str, str]) -> Tuple[int, str, float]:
    """Status, body and seconds taken of a POST to the webhook, as WeChat's servers make it."""
    request = urllib.request.Request(
        f"{rasa_url}/webhooks/wechat/webhook?{urlencode(query)}",
        data=body.encode("utf-8"),
        headers={"Content-Type": "text/xml"},
        method="POST",
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8"), time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8"), time.perf_counter() - started


def get(rasa_url: str, query: Dict[str, str]) -> Tuple[int, str]:
    try:
        with urllib.request.urlopen(f"{rasa_url}/webhooks/wechat/webhook?{urlencode(query)}", timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")
