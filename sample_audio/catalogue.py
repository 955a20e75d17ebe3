"""The check catalogue as the generator applies it: the phrase lists, windows and timing definitions.

The labels are what the agent actually said by these definitions; the judge (judge.py) re-derives every
verdict from the dialogue text with exact substrings (no ASR, no fuzzy matching) and, once the call is
rendered, from the exact sample times, and refuses a call that disagrees.
"""

from __future__ import annotations

import re
from typing import Final

from .scripts import CallType, CheckName

# --------------------------------------------------------------------------
# What each check looks for: the default phrase lists of the check catalogue
# spec. The labels are what the agent actually said by these definitions; the
# generator re-derives every verdict from the dialogue text with exact
# substrings (no ASR, no fuzzy matching) and refuses a call that disagrees.
# --------------------------------------------------------------------------

ALL_TYPES: Final[tuple[CallType, ...]] = (
    "inquiry",
    "complaint",
    "repair",
    "rescue",
    "appointment",
    "callback",
    "survey",
    "other",
)
INBOUND_TYPES: Final[tuple[CallType, ...]] = ("inquiry", "complaint", "repair", "rescue", "appointment")
RETURN_VISIT_TYPES: Final[tuple[CallType, ...]] = ("callback", "survey")
CHECK_CALL_TYPES: Final[dict[CheckName, tuple[CallType, ...]]] = {
    "greeting": ALL_TYPES,
    "ask_surname": INBOUND_TYPES,
    "ask_identity_detail": INBOUND_TYPES,
    "restate_confirm": INBOUND_TYPES,
    "empathy": ALL_TYPES,
    "reply_commitment": ALL_TYPES,
    "satisfaction_question": RETURN_VISIT_TYPES,
    "closing_more_help": INBOUND_TYPES,
    "closing_thanks": ALL_TYPES,
    "forbidden_phrase": ALL_TYPES,
    "casual_promise": ALL_TYPES,
    "off_topic_privacy": RETURN_VISIT_TYPES,
    "required_info": ("rescue", "repair", "complaint"),
    "routing": ALL_TYPES,
    "answer_within_rings": ALL_TYPES,  # inbound calls only: by direction, not call type (see NOT_OUTBOUND)
    "dead_air": ALL_TYPES,
    "talk_time_limit": ALL_TYPES,
    "interrupt_customer": ALL_TYPES,
    "speech_rate": ALL_TYPES,
    "calm_tone": ALL_TYPES,
    "abrupt_hangup": ALL_TYPES,
    "time_to_topic": RETURN_VISIT_TYPES,
}
# A phrase right after one of these is negated, not said (不满意 is not 满意).
NEGATING_PREFIXES: Final = ("不", "没", "没有", "别", "未", "不是", "并不", "从不")

GREETING_WITHIN_S: Final = 3.0
OPENING_SPAN_S: Final = 8.0  # the agent's opening: its speech this long after its first word
SALUTATIONS: Final = ("您好", "你好")
HELP_OFFERS: Final = (
    "有什么可以帮您",
    "有什么可以帮助您",
    "有什么可以协助您",
    "有什么需要协助",
    "很高兴为您服务",
    "为您服务",
)
INTRODUCTIONS: Final = ("我是", "这里是")
SURNAME_QUESTIONS: Final = ("请问您贵姓", "您贵姓", "怎么称呼您", "请问怎么称呼", "您姓什么")
IDENTITY_DETAILS: Final[dict[str, tuple[str, ...]]] = {
    "company": ("单位全称", "贵单位", "公司名称", "单位名称", "公司全称"),
    "address": ("几栋几号", "哪一栋", "多少栋", "哪栋", "房号", "地址", "住在哪"),
    "contact": ("联系电话", "联系方式", "电话号码", "手机号"),
}
# Per call type: groups of details that must all be asked; within a group any one will do.
REQUIRED_DETAILS: Final[dict[CallType, tuple[tuple[str, ...], ...]]] = {
    "inquiry": (("address", "company"),),
    "complaint": (("address", "company"),),
    "repair": (("address",),),
    "rescue": (("contact",),),
    "appointment": (("contact",),),
}
RESTATE_PHRASES: Final = (
    "我跟您确认一下",
    "我和您确认一下",
    "跟您核对一下",
    "我确认一下",
    "我再确认一下",
    "您的意思是",
    "您是说",
    "也就是说",
    "我理解的是",
    "我复述一下",
    "跟您复述一下",
    "核实一下",
)
CONFIRM_QUESTIONS: Final = (
    "对吗",
    "是吗",
    "对不对",
    "是不是",
    "没错吧",
    "可以吗",
    "是这样吗",
    "对吧",
    "是吧",
    "对么",
    "我理解得对吗",
    "没问题吧",
)
RESTATE_CONFIRM_WITHIN_S: Final = 15.0
UPSET_MARKERS: Final = (
    "太吵",
    "气死",
    "受不了",
    "太过分",
    "不满意",
    "生气",
    "着急",
    "到底什么时候",
    "怎么回事",
    "投诉",
    "急死了",
    "很急",
    "特别急",
    "急着用",
    "担心",
    "害怕",
    "吓死",
    "怎么办啊",
    "烦死了",
    "太慢了",
    "等了半天",
    "一直没人管",
    "没人管",
    "说了好几次",
    "第几次了",
    # an objection to how the agent speaks
    "什么态度",
    "这态度",
    "态度不好",
    "好好说",
    "不耐烦",
    "凶什么",
)
SOOTHING_PHRASES: Final = (
    "理解您的心情",
    "非常理解",
    "给您带来不便",
    "非常抱歉",
    "很抱歉",
    "您别着急",
    "别着急",
    "请您放心",
    "您先别急",
    "您别担心",
    "别担心",
    "不要着急",
    "您放心",
    "理解您",
    "实在抱歉",
    "真是抱歉",
    "让您久等了",
    "辛苦您了",
    # an apology or acknowledgement said other ways (the scorecard's literal ones)
    "对不起",
    "抱歉",
    "添麻烦",
    "受累",
    "委屈您",
    "别慌",
    "不要慌",
    "先别急",
    "实在不好意思",
    "真是不好意思",
    "真不好意思",
    "能理解",
)
DEFERRALS: Final = (
    "转交",
    "反馈给",
    "通知相关部门",
    "安排师傅",
    "派人",
    "记录下来",
    "核实一下",
    "给您回复",
    "给您回电",
    "联系您",
    "派师傅",
    "安排人员",
    "安排工程师",
    "答复您",
    "救援师傅",
    "救援车",
    "拖车",
    "通知您",
    "提交",
    "上报",
    "工单",
)
# A concrete time: a number (Arabic or Chinese digits, 半/两/几) + unit + 内/之内/以内 or 左右 (二十四小时内,
# 三个工作日内, 二十分钟左右); a clock time by which (五点前); a part of a named day (明天上午); a day as the
# limit (今天之内).
_DAY = (
    "(?:今天|明天|后天|今日|明日|今晚|明早|本周|这周|下周[一二三四五六日天]?"
    "|周[一二三四五六日天]|星期[一二三四五六日天])"
)
_PART = "(?:上午|下午|中午|晚上|早上|傍晚|凌晨)"
_N = "[0-9零一二三四五六七八九十百千两几]+"
_HOUR = "(?:[0-9]{1,2}|[零一二两三四五六七八九十]{1,3})"  # 几点 asks the time
TIME_EXPRESSION: Final = re.compile(
    rf"[0-9零一二三四五六七八九十百千两半几]+个?(?:分钟|小时|钟头|天|个工作日|工作日|周|星期|个月)(?:之内|以内|内|左右)"
    rf"|(?<![快早晚慢多少好大小些差一]){_HOUR}(?:点|时)(?:半|{_N}分?)?(?:之前|以前|前|左右|到)"
    rf"|{_DAY}{_PART}|{_DAY}(?:之内|以内|内|之前|以前|前)|{_PART}{_N}(?:点|时)"
)
# Said right after a concrete time, in the same clause (二十分钟内上门): a deferral with its time.
TIMED_ACTIONS: Final = (
    "上门",
    "到",
    "过去",
    "赶到",
    "赶过去",
    "联系您",
    "给您回电",
    "回电",
    "回复您",
    "给您回复",
    "答复您",
    "通知您",
    "处理好",
    "处理完",
    "修好",
    "送到",
    "给您打电话",
    "打给您",
)
NOT_DONE: Final = ("不了", "不到", "不能", "没法", "不一定", "不确定")
SATISFACTION_QUESTIONS: Final = ("满意吗", "还满意吗", "是否满意", "满不满意", "满意度")
# The customer's answer to the satisfaction question, most specific first (很不满意 before 不满意 before 满意).
SATISFACTION_SCALE: Final[tuple[tuple[int, tuple[str, ...]], ...]] = (
    (1, ("很不满意", "非常不满意")),
    (2, ("不太满意", "不满意")),
    (5, ("非常满意", "很满意")),
    (3, ("一般",)),
    (4, ("满意", "挺满意", "还可以", "挺好", "还行")),
)
MORE_HELP_QUESTIONS: Final = (
    "还有其他可以帮到您的吗",
    "还有什么可以帮您",
    "还有其他问题吗",
    "还有别的需要吗",
    "还有其他需要帮助的吗",
    "还有其他需要",
    "还有别的问题",
    "还有什么问题",
    "还有其他事",
    "还有别的事",
    "还需要什么帮助",
    "还有什么需要",
    "还有别的要问",
    "还有其他要咨询",
    "还有什么要咨询",
)
MORE_HELP_WITHIN_S: Final = 30.0  # of the end of the agent's last utterance
THANKS_PHRASES: Final = (
    "感谢您的来电",
    "谢谢您的来电",
    "感谢来电",
    "感谢您的配合",
    "谢谢您的配合",
    "感谢您的支持",
    "谢谢您的支持",
    "感谢您的耐心",
    "谢谢您的耐心",
    "感谢您",
    "谢谢您",
    "谢谢",
    "多谢",
)
GOODBYES: Final = (
    "再见",
    "拜拜",
)
CLOSING_SPAN_S: Final = 15.0
# Phrases the agent must never say (talking back, rudeness, shirking).
FORBIDDEN_PHRASES: Final = (
    "不归我们管",
    "不关我们的事",
    "你自己去查",
    "你听不懂吗",
    "爱找谁找谁",
    "我也没办法",
    "你烦不烦",
    "有完没完",
    "你自己看着办",
    "跟我说没用",
    "不关我的事",
    "我有什么办法",
    "你找别人去",
    "说了你也不懂",
    "你自己不会看吗",
    "爱信不信",
    "随便你",
    "你到底想怎么样",
    "别跟我吵",
    "你怎么这么啰嗦",
    "跟你说了多少遍",
    "我已经说过了",
    "听不懂就算了",
    "那是你的问题",
    "谁让你",
    "不是我的问题",
    "你自己的问题",
    "我就这么说",
    "规定就是这样",
    "没办法就是没办法",
    "我也管不了",
)
CASUAL_PROMISES: Final = (
    "我保证",
    "肯定没问题",
    "绝对不会",
    "百分之百",
    "一定给您解决",
    "包在我身上",
    "绝对没问题",
    "保证不会再",
    "保证给您",
    "肯定能",
    "肯定给您",
    "一定能",
    "绝对能",
    "绝对可以",
    "保证能",
    "肯定不会再",
    "绝对不会再",
    "您放心肯定",
    "打包票",
    "没有任何问题",
)
PRIVATE_QUESTIONS: Final = (
    "结婚了吗",
    "多大了",
    "多大年纪",
    "工资多少",
    "收入多少",
    "男朋友",
    "女朋友",
    "家里几口人",
    "老家哪里",
    "周末有空",
    "一个人住",
)
REQUIRED_FACTS: Final[dict[CallType, dict[str, tuple[str, ...]]]] = {
    "rescue": {
        "vehicle": ("车型", "什么车"),
        "plate": ("车牌号", "车牌"),
        "contact_person": ("联系人",),
        "contact_number": ("联系电话", "联系方式", "电话号码"),
        "location": ("故障地点", "什么位置", "在哪里", "具体位置"),
        "symptom": ("故障现象", "什么故障", "什么问题"),
    },
    "repair": {
        "nature": ("什么问题", "什么情况", "哪里坏", "怎么坏的"),
        "location": ("几栋几号", "哪一栋", "地址", "什么位置", "在哪里"),
        "time": ("什么时候", "什么时间", "哪天"),
    },
    "complaint": {
        "what": ("什么情况", "怎么回事", "发生了什么", "具体说说"),
        "when": ("什么时候", "什么时间", "哪天", "几点"),
        "who": ("哪位", "哪个人", "工作人员", "是谁", "谁接待", "谁处理", "谁负责"),
    },
}
# What a customer says when giving a fact unasked (004: the information must be collected, not each item
# asked for): a fact is collected when the agent asked for it or the customer gave it.
REQUIRED_GIVEN: Final[dict[CallType, dict[str, tuple[str, ...]]]] = {
    "rescue": {
        "vehicle": ("轿车", "越野车", "面包车", "货车"),
        "plate": ("车牌是", "车牌号是"),
        "contact_person": ("我姓", "我叫"),
        "contact_number": (),
        "location": ("高速", "服务区", "路口", "停车场"),
        "symptom": ("打不着", "熄火", "爆胎", "没油", "没电", "抛锚"),
    },
    "repair": {
        "nature": ("漏水", "坏了", "堵了", "停电", "停水", "不亮"),
        "location": ("栋", "单元", "号楼"),
        "time": ("小时了", "天了", "昨天", "今天", "刚才"),
    },
    "complaint": {
        "what": ("太吵", "态度", "没修好", "乱收费", "坏了"),
        "when": ("晚上", "昨天", "今天", "天了", "小时了"),
        "who": ("保安", "保洁", "维修师傅", "工作人员"),
    },
}
ROUTING_TRIGGERS: Final = (
    "不归我们管",  # a matter that is not ours, said to be rid of the customer, is still one to route
    "不属于我们",
    "不是我们负责",
    "不在我们的服务范围",
    "需要转接",
    "加我们客服QQ",
    "工程师会",
    "技术部门",
    "相关部门处理",
    "不是我们这边",
    "我们这边处理不了",
    "我们这边没办法",
    "我这边处理不了",
    "没有权限",
    "无法办理",
    "办不了",
    "需要您到",
    "需要您去",
    "得去",
    "要去",
    "给您转接",
    "帮您转接",
)
ROUTING_DESTINATIONS: Final = (
    "请联系",
    "请您联系",
    "请拨打",
    "拨打",
    "转接到",
    "转到",
    "加我们客服QQ",
    "QQ号",
    "工程师会在",
    "税务部门",
    "供电局",
    "水务集团",
    "派出所",
    "物业",
    "您可以联系",
    "您可以去",
    "您可以到",
    "到营业厅",
    "营业厅",
    "专线",
    "专员",
    "给您转接",
    "帮您转接",
    "官网",
    "热线",
    "窗口",
    "厂家",
    "柜台",
)

# --------------------------------------------------------------------------
# The timing checks: what the pipeline measures on the signal, by the same
# definitions. The labels are derived from the exact sample times below.
# --------------------------------------------------------------------------

# Ringback (China, GB 16409): 450 Hz, 1 s on / 4 s off, first burst 0.2-0.6 s into the file.
RINGBACK_HZ: Final = 450.0
RING_ON_S: Final = 1.0
RING_PERIOD_S: Final = 5.0
RING_FIRST_S: Final = (0.2, 0.6)
RINGBACK_LEVEL_DBFS: Final = -22.0  # RMS of a burst, after the telephone band filter
IDLE_NOISE_DBFS: Final = -80.0  # before the answer: near-digital silence on both channels
ANSWER_AFTER_RING_S: Final = (0.5, 3.5)  # answered in an off period: this long after the last burst ended
ANSWER_INTO_RING_S: Final = (0.4, 0.6)  # answered into a burst: this long after it started (it then stops)
# The answer falls on a 256-sample (32 ms) grid. The speech after it is sample for sample what it was when
# the recording started at the answer, and on this grid it also meets the same 32 ms frames of a speech
# detector that reads 512-sample chunks at 16 kHz (Silero in faster-whisper) as it did then, which keeps
# the ASR of the calls where it was (off the grid, whisper base heard words differently on two calls).
# The detector's state after a long ringing can still move where it finds the first words.
ANSWER_GRID: Final = 256
MAX_RINGS: Final = 3  # answer_within_rings: 电话铃响三声内接起
# Silences (neither party speaks) from the answer to the end of the last utterance.
DEAD_AIR_S: Final = 10.0
HOLD_PHRASES: Final = ("请您稍等", "请稍等", "稍等一下", "请您稍候", "请稍候", "我帮您查一下", "请不要挂机")
HOLD_NOTICE_WITHIN_S: Final = 5.0  # a silence starting this soon after a hold notice ends is a hold
# talk_s (answer to the end of the last utterance) limit per call type, seconds.
TALK_TIME_LIMITS_S: Final[dict[CallType, float]] = {
    "inquiry": 300.0,
    "complaint": 600.0,
    "repair": 300.0,
    "rescue": 300.0,
    "appointment": 300.0,
    "callback": 180.0,
    "survey": 180.0,
    "other": 600.0,
}
# interrupt_customer: the agent starts inside a customer utterance and both speak this long.
MIN_OVERLAP_S: Final = 0.5
BACKCHANNELS: Final = ("嗯", "对", "好的", "好", "是", "是的", "哦", "嗯嗯", "对对", "行")
BACKCHANNEL_TEXT: Final = re.compile(
    "(?:" + "|".join(re.escape(w) for w in sorted(BACKCHANNELS, key=len, reverse=True)) + ")+"
)
# speech_rate: agent characters (Chinese, letters, digits) per minute of its own utterances.
CPM_BAND: Final = (150.0, 300.0)
# calm_tone: the agent >= 6 dB louder and >= 3 semitones higher than its own call median for >= 1.5 s.
# A raised utterance is rendered RAISED_LEVEL_DB louder and x1.4 higher in pitch (+5.8 semitones) by
# warping (formants rise with it: a strained voice). FastSpeech2's f0_ratios cannot raise the pitch
# (see Voice); it flattens the intonation to RAISED_CONTOUR instead, so the voice stays up (and under
# the 400 Hz a pitch tracker for speech searches) rather than swinging through the Mandarin tones.
RAISED_LEVEL_DB: Final = 9.0
RAISED_WARP: Final = 1.4
RAISED_CONTOUR: Final = 0.3
# abrupt_hangup: the customer speaks last and the recording ends within this long of its end.
CUT_OFF_WITHIN_S: Final = 0.3
MIN_TAIL_S: Final = 1.0  # every other call ends at least this long after the last utterance
TAIL_EXTRA_S: Final = 0.5  # added to the tail draw (0.5-1.0 s) so that it is 1.0-1.5 s
# time_to_topic: the first agent utterance stating the return visit's purpose, from the customer's first words.
TOPIC_PHRASES: Final = ("回访", "给您打电话", "打扰您", "满意度", "调查")
TOPIC_LIMITS_S: Final[dict[CallType, float]] = {"callback": 5.0, "survey": 10.0}
# The pipeline finds the topic utterance as a speech stretch (two agent utterances less than 0.5 s apart
# merge into one), so it must follow the customer's words or a pause of the agent's at least this long.
TOPIC_STRETCH_PAUSE_S: Final = 0.8
# A clause of an utterance and the mark that ends it: the TTS renders one clause at a time (sample_audio.tts),
# so the second each clause begins is known, and time_to_topic's purpose is timed from its clause.
CLAUSE: Final = re.compile(r"([^，。？！、；：]+)([，。？！、；：]?)")
# Margins: a timed verdict must not flip with a measurement error this size (else the call is refused).
GREETING_MARGIN_S: Final = 0.5
SILENCE_MARGIN_S: Final = 2.0
OVERLAP_MARGIN_S: Final = 0.3
CPM_MARGIN: Final = 25.0
TOPIC_MARGIN_S: Final = 1.0
