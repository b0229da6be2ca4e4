"""Triage of one patient message: a red flag, a symptom to check, or nothing.

The knowledge is data, in `triage.yml` beside this module (its header explains the format; docs/triage.md
the design). This module only applies it:

1. the text is normalised (`bot.nlu.normalise`) and figurative idioms are blanked;
2. every pattern of every concept is searched, and each match is **scoped** the way NegEx scopes a clinical
   finding, adapted to Chinese clauses: a negation cue right before it, a hypothetical cue earlier in its
   clause, a risk question right after it ("…的风险大吗"), a second-hand story earlier in its sentence, or
   (for resolvable concepts) a resolution cue right after it ("…现在好了") makes it *scoped*, not *stated*;
3. temperatures, pulse and blood pressure given as numbers are read and compared with thresholds.

`Triage.assess` returns the most urgent finding: `red` (a stated red flag), `check` (a stated symptom that
may be one), or `none`; and, separately, the symptom words and idioms that occurred only in scoped form,
which let the classifier's own `report_emergency` be overruled for "万一大出血怎么办" or "贵得吐血".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Pattern, Sequence, Tuple

import yaml

from bot.nlu.normalise import normalise

DEFAULT_PATH = Path(__file__).with_name("triage.yml")

RED = "red"
CHECK = "check"
NONE = "none"
IDIOM = "idiom"

FEVER_CONCEPT = "fever_infection"
SEPSIS_CONCEPT = "sepsis"
BREATHING_CONCEPT = "breathing"
STROKE_CONCEPT = "stroke_signs"


@dataclass(frozen=True)
class Finding:
    """One concept found in a message: how urgent, which concept, the words that showed it."""

    level: str
    concept: str
    text: str
    # Read from a number (a temperature, a pulse …) rather than from words.
    numeric: bool = False


@dataclass(frozen=True)
class Assessment:
    """The most urgent finding of a message, and the red-flag words it held only in scoped form."""

    finding: Optional[Finding]
    scoped: Tuple[Finding, ...] = ()

    @property
    def level(self) -> str:
        return self.finding.level if self.finding else NONE


@dataclass(frozen=True)
class _Pattern:
    any: Sequence[Pattern[str]]
    with_any: Sequence[Pattern[str]] = ()
    unless: Sequence[Pattern[str]] = ()


@dataclass(frozen=True)
class _Concept:
    name: str
    resolvable: bool
    red: Sequence[_Pattern]
    check: Sequence[_Pattern]


@dataclass
class _Scopes:
    negation: List[Pattern[str]]
    hypothetical: List[Pattern[str]]
    conditional: List[Pattern[str]]
    past: List[Pattern[str]]
    risk_after: List[Pattern[str]]
    second_hand: List[Pattern[str]]
    relayed: List[Pattern[str]]
    current: List[Pattern[str]]
    resolved: List[Pattern[str]]
    negation_window: int
    hypothetical_window: int
    resolved_window: int


@dataclass
class _Numbers:
    temperature_red: float
    temperature_red_with_days: float
    temperature_check: float
    fever_days: Pattern[str]
    pulse_red: int
    systolic_red_below: int
    systolic_red_from: int
    oxygen_red_below: int


_MACRO = re.compile(r"\{([A-Z_]+)\}")
_CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_TEMPERATURE = re.compile(
    r"(?<![\d.])(?P<whole>\d{2,3})(?:(?:\.|点)(?P<dec>\d{1,2})|度(?P<deg_dec>\d)(?!\d))?\s*"
    r"(?P<unit>度|℃|°c|°f|°|摄氏度|华氏度?|degrees?|c(?![a-z])|f(?![a-z]))?"
)
_CHINESE_TEMPERATURE = re.compile(
    r"(?P<tens>[三四])十(?P<ones>[一二三四五六七八九])?\s*(?:度|点)(?P<dec>[一二三四五六七八九])?"
)
_NOT_TEMPERATURE_AFTER = re.compile(r"^\s*(岁|周岁|元|块|万|千|百|kg|公斤|斤|cm|厘米|mm|毫米|ml|毫升|cc|号|天|个|次|分钟|小时|min|年|月|%|针|支|u\b|单位)")
_FEVER_CONTEXT = re.compile(r"发烧|发热|高烧|烧|体温|温度|fever|temp|fs|量了|寒战|发冷")
_PULSE = re.compile(r"(心率|心跳|脉搏|脉|pulse|hr|heart rate|xl)[^\d，。；]{0,6}(\d{2,3})")
_CHINESE_PULSE = re.compile(r"(心率|心跳|脉搏)[^，。；]{0,4}一百(?P<tens>[一二三四五六七八九])(十)?")
_OXYGEN = re.compile(r"(血氧|氧饱和度?|spo2|o2|sat)[^\d，。；]{0,6}(\d{2,3})")
_PRESSURE = re.compile(r"(血压|bp|xy|高压|收缩压)[^\d，。；]{0,6}(\d{2,3})(?:\s*[/／]\s*(\d{2,3}))?")


def _compile(pattern: str, lexicon: Dict[str, str]) -> Pattern[str]:
    return re.compile(_MACRO.sub(lambda m: lexicon[m.group(1)], pattern), re.IGNORECASE)


def _compile_all(patterns: Optional[Iterable[str]], lexicon: Dict[str, str]) -> List[Pattern[str]]:
    return [_compile(pattern, lexicon) for pattern in patterns or []]


def _pattern(entry: Any, lexicon: Dict[str, str]) -> _Pattern:
    if isinstance(entry, str):
        return _Pattern(any=[_compile(entry, lexicon)])
    return _Pattern(
        any=_compile_all(entry["any"], lexicon),
        with_any=_compile_all(entry.get("with"), lexicon),
        unless=_compile_all(entry.get("unless"), lexicon),
    )


def _alias_table(aliases: Dict[str, List[str]]) -> Optional[Tuple[Pattern[str], Dict[str, str]]]:
    """One regex for every alias (longest first, Latin aliases not inside a longer word) and the word of each group."""
    entries = sorted(
        ((re.sub(r"\s+", r"\\s*", str(alias)), str(word)) for word, forms in aliases.items() for alias in forms),
        key=lambda entry: -len(entry[0]),
    )
    if not entries:
        return None
    words = {f"a{index}": word for index, (_, word) in enumerate(entries)}
    pattern = "|".join(f"\\s*(?P<a{index}>(?<![a-z]){alias}(?![a-z]))\\s*" for index, (alias, _) in enumerate(entries))
    return re.compile(pattern, re.IGNORECASE), words


def _chinese_number(character: Optional[str]) -> int:
    return _CHINESE_DIGITS.get(character or "", 0)


class Triage:
    """The triage knowledge of one `triage.yml`, applied to one message at a time."""

    def __init__(self, definition: Dict[str, Any]) -> None:
        lexicon = {name: str(value) for name, value in (definition.get("lexicon") or {}).items()}
        self._clause = re.compile(definition["clause_separators"])
        self._sentence = re.compile(definition["sentence_separators"])
        self._idioms = _compile_all(definition.get("idioms"), lexicon)
        self._aliases = _alias_table(definition.get("aliases") or {})
        scopes = definition["scopes"]
        self._scopes = _Scopes(
            negation=_compile_all(scopes["negation"], lexicon),
            hypothetical=_compile_all(scopes["hypothetical"], lexicon),
            conditional=_compile_all(scopes["conditional"], lexicon),
            past=_compile_all(scopes["past"], lexicon),
            risk_after=_compile_all(scopes["risk_after"], lexicon),
            second_hand=_compile_all(scopes["second_hand"], lexicon),
            relayed=_compile_all(scopes["relayed"], lexicon),
            current=_compile_all(scopes["current"], lexicon),
            resolved=_compile_all(scopes["resolved"], lexicon),
            negation_window=int(scopes["negation_window"]),
            hypothetical_window=int(scopes["hypothetical_window"]),
            resolved_window=int(scopes["resolved_window"]),
        )
        numbers = definition["numbers"]
        self._numbers = _Numbers(
            temperature_red=float(numbers["temperature_red"]),
            temperature_red_with_days=float(numbers["temperature_red_with_days"]),
            temperature_check=float(numbers["temperature_check"]),
            fever_days=_compile(numbers["fever_days"], lexicon),
            pulse_red=int(numbers["pulse_red"]),
            systolic_red_below=int(numbers["systolic_red_below"]),
            systolic_red_from=int(numbers["systolic_red_from"]),
            oxygen_red_below=int(numbers["oxygen_red_below"]),
        )
        self.check_intents = frozenset(definition.get("check_intents") or [])
        self._concepts = [
            _Concept(
                name=concept["name"],
                resolvable=bool(concept.get("resolvable", False)),
                red=[_pattern(entry, lexicon) for entry in concept.get("red") or []],
                check=[_pattern(entry, lexicon) for entry in concept.get("check") or []],
            )
            for concept in definition["concepts"]
        ]
        if not self._concepts:
            raise ValueError("the triage knowledge defines no concepts")

    @classmethod
    def from_file(cls, path: Path = DEFAULT_PATH) -> "Triage":
        with open(path, encoding="utf-8") as handle:
            return cls(yaml.safe_load(handle))

    @property
    def concepts(self) -> List[str]:
        return [concept.name for concept in self._concepts]

    def assess(self, raw: str) -> Assessment:
        """The most urgent finding of the message: red before check, the first concept of the file first."""
        scoped: List[Finding] = []
        text = self._blank_idioms(self._read_aliases(normalise(raw)), scoped)
        checks: List[Finding] = []
        for finding in self._numeric_findings(text, scoped):
            if finding.level == RED:
                return Assessment(finding, tuple(scoped))
            checks.append(finding)
        for concept in self._concepts:
            words = self._first_stated(concept, concept.red, text, scoped)
            if words is not None:
                return Assessment(Finding(RED, concept.name, words), tuple(scoped))
        for concept in self._concepts:
            words = self._first_stated(concept, concept.check, text, scoped, resolvable=True)
            if words is not None:
                checks.append(Finding(CHECK, concept.name, words))
        return Assessment(checks[0] if checks else None, tuple(scoped))

    def _read_aliases(self, text: str) -> str:
        if self._aliases is None:
            return text
        pattern, words = self._aliases
        return pattern.sub(lambda m: words[m.lastgroup or ""], text)

    def _blank_idioms(self, text: str, scoped: List[Finding]) -> str:
        """The text with figurative idioms blanked; each one is remembered as a scoped finding."""
        for idiom in self._idioms:
            for match in idiom.finditer(text):
                scoped.append(Finding(IDIOM, IDIOM, match.group(0)))
            text = idiom.sub(lambda m: "　" * len(m.group(0)), text)
        return text

    def _first_stated(
        self,
        concept: _Concept,
        patterns: Sequence[_Pattern],
        text: str,
        scoped: List[Finding],
        resolvable: Optional[bool] = None,
    ) -> Optional[str]:
        """The words of the first stated match of `patterns`; scoped matches are added to `scoped`."""
        level = CHECK if resolvable else RED
        resolvable = concept.resolvable if resolvable is None else resolvable
        for pattern in patterns:
            if any(p.search(text) for p in pattern.unless):
                continue
            if pattern.with_any and not any(p.search(text) for p in pattern.with_any):
                continue
            for regex in pattern.any:
                for match in regex.finditer(text):
                    if not match.group(0).strip():
                        continue
                    if self._is_stated(text, match.start(), match.end(), resolvable):
                        return match.group(0)
                    scoped.append(Finding(level, concept.name, match.group(0)))
        return None

    def _is_stated(self, text: str, start: int, end: int, resolvable: bool) -> bool:
        """False when the match is negated, hypothetical, a risk question, second-hand or (if allowed) over."""
        scopes = self._scopes
        clause_start = max((m.end() for m in self._clause.finditer(text, 0, start)), default=0)
        sentence_start = max((m.end() for m in self._sentence.finditer(text, 0, start)), default=0)
        near = text[max(clause_start, start - scopes.negation_window) : start]
        if any(p.search(near) for p in scopes.negation):
            return False
        before = text[max(clause_start, start - scopes.hypothetical_window) : start]
        hypothetical = self._last_cue(scopes.hypothetical, before)
        if hypothetical is not None and not self._has_current(before[hypothetical:]):
            return False
        clause_end = next((m.start() for m in self._clause.finditer(text, end)), len(text))
        after_clause = text[end:clause_end]
        if any(p.search(after_clause) for p in scopes.risk_after):
            return False
        sentence = text[sentence_start:start]
        for cues in (scopes.conditional, scopes.past):
            cue_end = self._last_cue(cues, sentence)
            if cue_end is not None and not self._has_current(text[sentence_start + cue_end : start]):
                return False
        news = self._last_cue(scopes.second_hand, sentence)
        if news is not None and not self._has_current(text[sentence_start + news : start]):
            return False
        relayed = self._last_cue(scopes.relayed, sentence)
        if relayed is not None and not self._has_current(text[sentence_start + relayed : end + scopes.resolved_window]):
            return False
        if resolvable:
            after = text[end : end + scopes.resolved_window]
            if any(p.search(after) for p in scopes.resolved):
                return False
        return True

    @staticmethod
    def _last_cue(cues: Sequence[Pattern[str]], text: str) -> Optional[int]:
        """Where the last of `cues` in `text` ends, or None."""
        ends = [match.end() for cue in cues for match in cue.finditer(text)]
        return max(ends) if ends else None

    def _has_current(self, text: str) -> bool:
        return any(p.search(text) for p in self._scopes.current)

    def _numeric_findings(self, text: str, scoped: List[Finding]) -> List[Finding]:
        findings: List[Finding] = []
        numbers = self._numbers
        fever_days = numbers.fever_days.search(text) is not None
        for value, start, end in self._temperatures(text):
            if not self._is_stated(text, start, end, resolvable=True):
                if value >= numbers.temperature_red:
                    scoped.append(Finding(RED, FEVER_CONCEPT, text[start:end]))
                continue
            if value >= numbers.temperature_red or (value >= numbers.temperature_red_with_days and fever_days):
                findings.append(Finding(RED, FEVER_CONCEPT, text[start:end], numeric=True))
            elif value >= numbers.temperature_check:
                findings.append(Finding(CHECK, FEVER_CONCEPT, text[start:end], numeric=True))
        for value, start, end in self._pulses(text):
            if value >= numbers.pulse_red and self._is_stated(text, start, end, resolvable=False):
                findings.append(Finding(RED, SEPSIS_CONCEPT, text[start:end], numeric=True))
        for match in _PRESSURE.finditer(text):
            systolic = int(match.group(2))
            if not self._is_stated(text, match.start(), match.end(), False):
                continue
            if 40 <= systolic < numbers.systolic_red_below:
                findings.append(Finding(RED, SEPSIS_CONCEPT, match.group(0)))
            elif numbers.systolic_red_from <= systolic <= 300:
                findings.append(Finding(RED, STROKE_CONCEPT, match.group(0)))
        for match in _OXYGEN.finditer(text):
            saturation = int(match.group(2))
            if 50 <= saturation < numbers.oxygen_red_below and self._is_stated(text, match.start(), match.end(), False):
                findings.append(Finding(RED, BREATHING_CONCEPT, match.group(0)))
        if not any(f.concept == FEVER_CONCEPT for f in findings):
            for match in numbers.fever_days.finditer(text):
                if "低烧" in text or "低热" in text:
                    break
                if self._is_stated(text, match.start(), match.end(), resolvable=True) and _FEVER_CONTEXT.search(text):
                    findings.append(Finding(RED, FEVER_CONCEPT, match.group(0)))
                    break
        findings.sort(key=lambda finding: finding.level != RED)
        return findings

    @staticmethod
    def _temperatures(text: str) -> List[Tuple[float, int, int]]:
        """Body temperatures in °C written in the text, with where they stand."""
        found: List[Tuple[float, int, int]] = []
        for match in _TEMPERATURE.finditer(text):
            whole = int(match.group("whole"))
            decimals = match.group("dec") or match.group("deg_dec")
            value = float(f"{whole}.{decimals}") if decimals else float(whole)
            unit = (match.group("unit") or "").lower()
            if _NOT_TEMPERATURE_AFTER.search(text[match.end() :]) and not unit:
                continue
            fahrenheit = unit in ("°f", "f", "华氏", "华氏度")
            if fahrenheit or (95 <= value <= 110 and _FEVER_CONTEXT.search(text)):
                value = (value - 32) * 5 / 9
            if not 35 <= value <= 43:
                continue
            if fahrenheit:
                found.append((value, match.start(), match.end()))
                continue
            context = text[max(0, match.start() - 8) : match.end() + 4]
            if unit in ("度", "℃", "°c", "°", "摄氏度", "degree", "degrees") and (decimals or _FEVER_CONTEXT.search(context) or value >= 38):
                found.append((value, match.start(), match.end()))
            elif _FEVER_CONTEXT.search(context) or (decimals and not unit):
                found.append((value, match.start(), match.end()))
        for match in _CHINESE_TEMPERATURE.finditer(text):
            value = _chinese_number(match.group("tens")) * 10 + _chinese_number(match.group("ones"))
            value_c = value + _chinese_number(match.group("dec")) / 10
            if 35 <= value_c <= 43:
                found.append((value_c, match.start(), match.end()))
        return found

    @staticmethod
    def _pulses(text: str) -> List[Tuple[int, int, int]]:
        pulses = [(int(m.group(2)), m.start(), m.end()) for m in _PULSE.finditer(text)]
        pulses += [(100 + 10 * _chinese_number(m.group("tens")), m.start(), m.end()) for m in _CHINESE_PULSE.finditer(text)]
        return pulses
