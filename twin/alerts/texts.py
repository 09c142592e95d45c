"""The words of an alert message, in English and in Chinese (zh-CN).

:func:`info_text` gives the human-readable elements of one CAP ``info`` block (event,
headline, description, instruction, sender name, area description) for a language
family (``en`` or ``zh``); :mod:`twin.alerts.cap` puts them in the block. The Chinese
block names the low point by its Chinese name (:func:`twin.alerts.names.chinese_name`).

The Chinese wording follows the usual form of Chinese early warnings (``…道路积水黄色
预警``, ``解除…预警``); it is the twin's own wording, not a published template.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin.alerts.conventions import COLOR_ZH

if TYPE_CHECKING:
    from twin.alerts.lifecycle import AlertMessage

__all__ = ["EVENT", "EVENT_ZH", "info_text"]

#: CAP ``event`` of each level, English.
EVENT = {
    "impeded": "Road waterlogging: traffic impeded",
    "closed": "Road waterlogging: road closed",
}
#: CAP ``event`` of each level, Chinese.
EVENT_ZH = {"impeded": "道路积水：通行受阻", "closed": "道路积水：道路封闭"}
_STATE_ZH = {"impeded": "通行受阻", "closed": "道路封闭"}


def _when_zh(msg: AlertMessage) -> str:
    lead = msg.lead_time_s
    if msg.certainty == "Observed":
        return "现已"
    if lead is not None and lead > 0:
        return f"预计约{lead / 60:.0f}分钟后"
    return "预报时段内可能"


def info_text(msg: AlertMessage, family: str) -> dict[str, str]:
    """The human-readable elements of a message's CAP ``info`` block.

    Parameters
    ----------
    msg
        The message.
    family
        ``"en"`` or ``"zh"``.

    Returns
    -------
    dict[str, str]
        ``event``, ``senderName``, ``headline``, ``description``, ``areaDesc`` and,
        except for a Cancel, ``instruction``.
    """
    return _zh(msg) if family == "zh" else _en(msg)


def _en(msg: AlertMessage) -> dict[str, str]:
    # Without a colour, the words of the plain-CAP messages are kept as they were.
    out = {"event": EVENT[msg.level], "senderName": msg.sender_name}
    if msg.msg_type == "Cancel":
        lifted = f", {msg.color} warning lifted" if msg.color else ""
        out["headline"] = f"All clear: {msg.point_name} ({msg.level}){lifted}"
        out["description"] = (
            f"The forecast probability that the water at {msg.point_name} reaches "
            f"{msg.depth_threshold:.2f} m has fallen to {msg.probability:.0%}; the alert is "
            "cancelled."
        )
    else:
        lead = msg.lead_time_s
        when = "now" if lead is None or lead <= 0 else f"in about {lead / 60:.0f} min"
        color = f"{msg.color.capitalize()} warning: " if msg.color else ""
        out["headline"] = f"{color}{EVENT[msg.level]} at {msg.point_name} {when}"
        out["description"] = (
            f"Water at {msg.point_name} is forecast to reach {msg.depth_threshold:.2f} m "
            f"({'road closed' if msg.level == 'closed' else 'traffic impeded'}) {when}, "
            f"probability {msg.probability:.0%}. Forecast by a simulated digital twin."
        )
        out["instruction"] = (
            "Avoid the road; use another route."
            if msg.level == "closed"
            else "Drive slowly; expect delays; crews may be sent ahead."
        )
    out["areaDesc"] = f"{msg.point_name} ({msg.point_id})"
    return out


def _zh(msg: AlertMessage) -> dict[str, str]:
    name = msg.point_name_zh or msg.point_name
    color = COLOR_ZH[msg.color] if msg.color else ""
    state = _STATE_ZH[msg.level]
    out = {"event": EVENT_ZH[msg.level], "senderName": msg.conventions.sender_name_zh}
    if msg.msg_type == "Cancel":
        out["headline"] = f"解除{name}道路积水{color}预警"
        out["description"] = (
            f"{name}积水深度达到{msg.depth_threshold:.2f}米的预报概率已降至"
            f"{msg.probability:.0%}，预警解除。"
        )
    else:
        when = _when_zh(msg)
        update = "（更新）" if msg.msg_type == "Update" else ""
        out["headline"] = f"{name}道路积水{color}预警{update}：{when}{state}"
        out["description"] = (
            f"{name}积水深度{when}达到{msg.depth_threshold:.2f}米（{state}），"
            f"概率{msg.probability:.0%}。本预报由城市数字孪生模拟生成。"
        )
        out["instruction"] = (
            "请绕行，避开该路段。"
            if msg.level == "closed"
            else "请减速慢行，注意通行延误；抢险队伍可能提前到场。"
        )
    out["areaDesc"] = f"{name}（{msg.point_id}）"
    return out
