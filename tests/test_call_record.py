from core.base import AIResponse, CallRecord, TaskType


def _response(**kw: object) -> AIResponse:
    base = dict(content="x", provider="groq", model="m", input_tokens=3, output_tokens=4, cost_usd=0.01, latency_ms=5.0)
    return AIResponse(**{**base, **kw, "task_type": TaskType.COVER_LETTER})  # type: ignore[arg-type]


def test_route_reason_and_cut_notice_reach_the_record_and_its_meta() -> None:
    reason = "groq: cheapest available for cover_letter; openai skipped: over budget"
    notice = "The answer was cut at the 900-token limit."
    record = CallRecord.of(_response(route_reason=reason, notice=notice))
    assert (reason, [notice]) == (record.route_reason, record.warnings)
    back = CallRecord.from_meta(record.meta)
    assert (reason, [notice]) == (back.route_reason, back.warnings)


def test_a_combined_record_keeps_the_last_reason_and_every_warning() -> None:
    first = CallRecord.of(_response(route_reason="openai: default", notice="cut"))
    last = CallRecord.of(_response(route_reason="groq: fallback"))
    combined = CallRecord.combine([first, last])
    assert ("groq: fallback", ["cut"]) == (combined.route_reason, combined.warnings)


def test_a_whole_answer_adds_no_warning() -> None:
    assert [] == CallRecord.of(_response()).warnings
