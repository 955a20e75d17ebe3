"""read_metadata: typed fields, one RowProblem per bad cell (row kept), unusable files refused."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from qa_pipeline.intake.metadata import CallMetadata, Metadata, MetadataError, RowProblem, read_metadata


@pytest.fixture
def input_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "recordings"
    (directory / "sub").mkdir(parents=True)
    return directory


def write_csv(tmp_path: Path, text: str, *, bom: bool = False, encoding: str = "utf-8") -> Path:
    path = tmp_path / "calls.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def read(tmp_path: Path, input_dir: Path, text: str, *, bom: bool = False) -> tuple[Metadata, Path]:
    path = write_csv(tmp_path, text, bom=bom)
    return read_metadata(path, input_dir), path


def problems_at(metadata: Metadata, line: int) -> dict[str, RowProblem]:
    return {p.column: p for p in metadata.problems if p.row == line}


HEADER = (
    "call_id,audio_file,agent_id,direction,call_type,started_at,answered_at,ended_at,"
    "caller_number,survey_score,case_id,hold_s,acw_s,agent_channel\n"
)


def test_good_row_is_parsed_into_typed_fields(tmp_path: Path, input_dir: Path) -> None:
    metadata, _ = read(
        tmp_path,
        input_dir,
        HEADER + "C001,a.wav,A07,呼入,Complaint,2024-05-01T09:30:15+08:00,2024/05/01 09:30:21,"
        "2024-05-01 09:41:00,013800138000,4.5,K-9,12.5,30,1\n"
        + "C002,sub/b.wav,A08,呼出,repair,2024-05-02 18:00:00,,,,10,,0,,0\n",
    )

    assert metadata.problems == []
    assert list(metadata.by_audio_file) == ["a.wav", "sub/b.wav"]
    assert metadata.by_audio_file["a.wav"] == CallMetadata(
        audio_file="a.wav",
        call_id="C001",
        agent_id="A07",
        direction="inbound",
        call_type="complaint",
        # +08:00 is dropped, not converted: the center's wall-clock time is what KPIs group by.
        started_at=datetime(2024, 5, 1, 9, 30, 15),
        answered_at=datetime(2024, 5, 1, 9, 30, 21),
        ended_at=datetime(2024, 5, 1, 9, 41, 0),
        caller_number="013800138000",  # kept as text: the leading zero matters
        survey_score=4.5,
        case_id="K-9",
        hold_s=12.5,
        acw_s=30.0,
        agent_channel=1,
        extra={},
        row=2,
    )
    second = metadata.by_audio_file["sub/b.wav"]
    assert second.direction == "outbound"
    assert second.call_type == "repair"
    assert second.started_at == datetime(2024, 5, 2, 18, 0)
    assert second.started_at is not None and second.started_at.tzinfo is None
    assert second.answered_at is None
    assert second.survey_score == 10.0
    assert second.hold_s == 0.0
    assert second.acw_s is None
    assert second.agent_channel == 0
    assert second.row == 3


def test_only_audio_file_is_required(tmp_path: Path, input_dir: Path) -> None:
    metadata, _ = read(tmp_path, input_dir, "audio_file\na.wav\n")
    assert metadata.problems == []
    assert metadata.by_audio_file == {"a.wav": CallMetadata(audio_file="a.wav", row=2)}


def test_unknown_columns_land_in_extra(tmp_path: Path, input_dir: Path) -> None:
    metadata, _ = read(tmp_path, input_dir, "audio_file,call_id,客户等级,remark\na.wav,C1,VIP,回访\nb.wav,C2,,\n")
    assert metadata.problems == []
    assert metadata.by_audio_file["a.wav"].extra == {"客户等级": "VIP", "remark": "回访"}
    assert metadata.by_audio_file["b.wav"].extra == {}  # empty cells are not kept


def test_cells_and_header_are_stripped(tmp_path: Path, input_dir: Path) -> None:
    metadata, _ = read(tmp_path, input_dir, " audio_file , direction \n a.wav , Inbound \n")
    assert metadata.problems == []
    assert metadata.by_audio_file["a.wav"].direction == "inbound"


@pytest.mark.parametrize(
    ("column", "value", "message_part"),
    [
        ("started_at", "2024-13-01 09:00", "month must be in 1..12"),
        ("started_at", "yesterday", "yesterday"),
        ("answered_at", "2024-05-01 25:00", "hour"),
        ("call_type", "sales", "unknown call type"),
        ("direction", "sideways", "direction must be one of"),
        ("hold_s", "-3", "non-negative"),
        ("acw_s", "nan", "non-negative"),
        ("survey_score", "abc", "abc"),
        ("survey_score", "11", "between 0 and 10"),
        ("agent_channel", "left", "left"),
        ("agent_channel", "-1", "0 or more"),
    ],
)
def test_bad_value_is_a_problem_and_the_row_is_kept(
    tmp_path: Path, input_dir: Path, column: str, value: str, message_part: str
) -> None:
    metadata, path = read(
        tmp_path, input_dir, f"call_id,audio_file,agent_id,{column}\nC0,ok.wav,A0,\nC1,a.wav,A1,{value}\n"
    )

    assert len(metadata.problems) == 1
    problem = metadata.problems[0]
    assert problem.source == str(path)
    assert problem.row == 3
    assert problem.column == column
    assert problem.value == value
    assert message_part in problem.message
    assert str(path) in str(problem)
    assert "line 3" in str(problem)
    assert repr(column) in str(problem)
    call = metadata.by_audio_file["a.wav"]
    assert getattr(call, column) is None
    assert (call.call_id, call.agent_id, call.row) == ("C1", "A1", 3)


def test_several_bad_cells_in_one_row(tmp_path: Path, input_dir: Path) -> None:
    metadata, _ = read(
        tmp_path,
        input_dir,
        "call_id,audio_file,direction,call_type,started_at,survey_score,hold_s\n"
        "C1,a.wav,呼入,sales,2024-02-30 10:00,abc,-3\n",
    )
    assert sorted(problems_at(metadata, 2)) == ["call_type", "hold_s", "started_at", "survey_score"]
    call = metadata.by_audio_file["a.wav"]
    assert (call.call_type, call.started_at, call.survey_score, call.hold_s) == (None, None, None, None)
    assert call.direction == "inbound"


def test_duplicate_call_id_second_row_skipped(tmp_path: Path, input_dir: Path) -> None:
    metadata, _ = read(tmp_path, input_dir, "call_id,audio_file\nC1,a.wav\nC2,b.wav\nC1,c.wav\n")
    assert list(metadata.by_audio_file) == ["a.wav", "b.wav"]
    assert metadata.by_audio_file["a.wav"].call_id == "C1"
    (problem,) = metadata.problems
    assert (problem.row, problem.column, problem.value) == (4, "call_id", "C1")
    assert "duplicate call_id" in problem.message
    assert "line 2" in problem.message


@pytest.mark.parametrize("second", ["a.wav", "./a.wav", "sub/../a.wav"])
def test_two_rows_naming_the_same_audio_file(tmp_path: Path, input_dir: Path, second: str) -> None:
    metadata, _ = read(tmp_path, input_dir, f"call_id,audio_file\nC1,a.wav\nC2,{second}\n")
    assert list(metadata.by_audio_file) == ["a.wav"]
    assert metadata.by_audio_file["a.wav"].call_id == "C1"
    (problem,) = metadata.problems
    assert (problem.row, problem.column, problem.value) == (3, "audio_file", second)


@pytest.mark.parametrize("escape", ["../elsewhere.wav", "sub/../../elsewhere.wav", "/etc/passwd"])
def test_audio_file_outside_input_dir_is_refused(tmp_path: Path, input_dir: Path, escape: str) -> None:
    metadata, _ = read(tmp_path, input_dir, f"call_id,audio_file\nC1,{escape}\nC2,a.wav\n")
    assert list(metadata.by_audio_file) == ["a.wav"]
    (problem,) = metadata.problems
    assert (problem.row, problem.column, problem.value) == (2, "audio_file", escape)
    assert "outside the input directory" in problem.message


def test_absolute_audio_file_inside_input_dir(tmp_path: Path, input_dir: Path) -> None:
    """The CSV's paths are relative to the input directory; an absolute one must not be kept as a key that
    can never match a recording (calls are joined on the path relative to the input directory)."""
    absolute = (input_dir / "sub" / "b.wav").resolve()
    metadata, _ = read(tmp_path, input_dir, f"call_id,audio_file\nC1,{absolute}\n")
    if metadata.by_audio_file:  # accepted: then under its relative path
        assert list(metadata.by_audio_file) == ["sub/b.wav"]
        assert metadata.problems == []
    else:  # or refused with a problem naming the cell
        (problem,) = metadata.problems
        assert (problem.row, problem.column, problem.value) == (2, "audio_file", str(absolute))


def test_empty_audio_file_is_skipped_with_a_problem(tmp_path: Path, input_dir: Path) -> None:
    metadata, _ = read(tmp_path, input_dir, "call_id,audio_file\nC1,\nC2,  \nC3,a.wav\n")
    assert list(metadata.by_audio_file) == ["a.wav"]
    assert [(p.row, p.column) for p in metadata.problems] == [(2, "audio_file"), (3, "audio_file")]
    assert all("empty audio_file" in p.message for p in metadata.problems)


def test_more_cells_than_columns(tmp_path: Path, input_dir: Path) -> None:
    metadata, _ = read(tmp_path, input_dir, "call_id,audio_file\nC1,a.wav,surplus,more\n")
    assert metadata.by_audio_file["a.wav"].call_id == "C1"
    (problem,) = metadata.problems
    assert (problem.row, problem.column, problem.value) == (2, "*", "surplus,more")


def test_missing_audio_file_column_raises(tmp_path: Path, input_dir: Path) -> None:
    path = write_csv(tmp_path, "call_id,file\nC1,a.wav\n")
    with pytest.raises(MetadataError) as info:
        read_metadata(path, input_dir)
    assert str(path) in str(info.value)
    assert "audio_file" in str(info.value)


@pytest.mark.parametrize("text", ["", "\n"])
def test_empty_csv_raises(tmp_path: Path, input_dir: Path, text: str) -> None:
    path = write_csv(tmp_path, text)
    with pytest.raises(MetadataError, match="audio_file"):
        read_metadata(path, input_dir)


def test_missing_csv_raises(tmp_path: Path, input_dir: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(MetadataError) as info:
        read_metadata(path, input_dir)
    assert str(path) in str(info.value)


def test_non_utf8_csv_raises(tmp_path: Path, input_dir: Path) -> None:
    path = write_csv(tmp_path, "audio_file,remark\na.wav,客户投诉\n", encoding="gbk")
    with pytest.raises(MetadataError) as info:
        read_metadata(path, input_dir)
    assert str(path) in str(info.value)
    assert "cannot read" in str(info.value)


def test_utf8_bom_header(tmp_path: Path, input_dir: Path) -> None:
    metadata, _ = read(tmp_path, input_dir, "audio_file,call_id,direction\na.wav,C1,呼出\n", bom=True)
    assert metadata.problems == []
    call = metadata.by_audio_file["a.wav"]
    assert (call.call_id, call.direction) == ("C1", "outbound")
    assert call.extra == {}  # the BOM did not turn the first column into an unknown one


def test_chinese_file_names(tmp_path: Path, input_dir: Path) -> None:
    metadata, _ = read(
        tmp_path,
        input_dir,
        "audio_file,call_id,agent_id\n录音/2024年5月/张三_投诉.wav,C1,坐席01\n李四 回访.mp3,C2,坐席02\n",
        bom=True,
    )
    assert metadata.problems == []
    assert list(metadata.by_audio_file) == ["录音/2024年5月/张三_投诉.wav", "李四 回访.mp3"]
    assert metadata.by_audio_file["录音/2024年5月/张三_投诉.wav"].agent_id == "坐席01"
    assert metadata.by_audio_file["李四 回访.mp3"].audio_file == "李四 回访.mp3"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            'call_id,audio_file,remark,started_at\nC1,a.wav,"第一行\n第二行",\nC2,b.wav,,bad\n', id="quoted-newline"
        ),
        pytest.param("call_id,audio_file,started_at\nC1,a.wav,\n\nC2,b.wav,bad\n", id="blank-line"),
    ],
)
def test_problem_line_is_the_line_in_the_file(tmp_path: Path, input_dir: Path, text: str) -> None:
    """RowProblem.row is the 1-based line of the CSV file: the bad cell is on line 4 in both files."""
    metadata, _ = read(tmp_path, input_dir, text)
    (problem,) = metadata.problems
    assert (problem.column, problem.value) == ("started_at", "bad")
    assert problem.row == 4
    assert metadata.by_audio_file["b.wav"].row == 4


# -- numbers written as text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        # full-width digits and letters (a Chinese input method's default) are plain ASCII after NFKC
        ("hold_s", "１２", 12.0),
        ("acw_s", "４５．５", 45.5),
        ("survey_score", "４.５", 4.5),
        ("agent_channel", "１", 1),
        ("ring_count", "３", 3),
        ("caller_number", "０１３８００１３８０００", "013800138000"),
        ("call_id", "Ｃ００１", "C001"),
        ("case_id", "Ｋ－９", "K-9"),
        ("agent_id", "坐席０７", "坐席07"),
        ("direction", "Ｉｎｂｏｕｎｄ", "inbound"),
        ("call_type", "ＲＥＰＡＩＲ", "repair"),
        ("started_at", "２０２４－０５－０１　０９：３０", datetime(2024, 5, 1, 9, 30)),
        ("customer_tags", "Ｅｌｄｅｒｌｙ，ＶＩＰ", ("elderly", "vip")),
        # a seconds unit on a *_s column
        ("hold_s", "30秒", 30.0),
        ("hold_s", "30秒钟", 30.0),
        ("hold_s", "30s", 30.0),
        ("hold_s", "30S", 30.0),
        ("hold_s", "30 sec", 30.0),
        ("acw_s", "30 secs", 30.0),
        ("acw_s", "2.5 seconds", 2.5),
        ("acw_s", "３０秒", 30.0),
        # thousands separators (ASCII or full-width comma) on a *_s column
        ("acw_s", "1,200", 1200.0),
        ("acw_s", "1,200.5秒", 1200.5),
        ("hold_s", "12,345.5", 12345.5),
        ("hold_s", "１，２００", 1200.0),
        # spaces around the number (an ideographic space too)
        ("hold_s", "  30  ", 30.0),
        ("survey_score", "\u30004.5\u3000", 4.5),
        # long IDs whose digits survived are kept as written
        ("caller_number", "13800138000", "13800138000"),
        ("case_id", "1E5", "1E5"),  # no '+': not Excel's notation, an ID that happens to look like it
    ],
)
def test_numbers_written_as_text_are_normalized(
    tmp_path: Path, input_dir: Path, column: str, value: str, expected: object
) -> None:
    metadata, _ = read(tmp_path, input_dir, f'audio_file,{column}\na.wav,"{value}"\n')
    assert metadata.problems == []
    assert getattr(metadata.by_audio_file["a.wav"], column) == expected


@pytest.mark.parametrize(
    ("column", "value", "message_part"),
    [
        # Excel's scientific notation: the digits are gone, so the value is refused, never guessed
        ("caller_number", "1.38001E+10", "Excel converted"),
        ("caller_number", "1.38001e+10", "digits are lost"),
        ("call_id", "2.02405E+15", "scientific notation"),
        ("case_id", "１.２３E＋１７", "Excel converted"),
        ("agent_id", "1E+11", "Excel converted"),
        # numbers that are not numbers
        ("survey_score", "五", "between 0 and 10"),
        ("survey_score", "4,5", "between 0 and 10"),  # a decimal comma is ambiguous
        ("survey_score", "inf", "between 0 and 10"),
        ("hold_s", "1,2", "non-negative number of seconds"),  # not a thousands grouping
        ("hold_s", "1,2000", "non-negative number of seconds"),
        ("hold_s", "2分钟", "non-negative number of seconds"),  # minutes are not seconds
        ("hold_s", "30 min", "non-negative number of seconds"),
        ("acw_s", "1_000", "non-negative number of seconds"),  # float() would take it
        ("acw_s", "30ss", "non-negative number of seconds"),
        ("acw_s", "秒", "non-negative number of seconds"),
        ("acw_s", "-30秒", "non-negative number of seconds"),
        ("agent_channel", "1.5", "whole number"),
        ("ring_count", "三", "whole number"),
        ("ring_count", "1,000", "whole number"),
        # dates
        ("started_at", "2026-13-40", "month must be in 1..12"),
        ("started_at", "yesterday", "yesterday"),
        ("answered_at", "20/11/2026", "20/11/2026"),  # day first: not guessed
        ("ended_at", "2026-02-30 10:00", "day is out of range"),
        ("ended_at", "2026年11月20日", "like 2024-05-01 09:30:00"),
    ],
)
def test_destroyed_or_unreadable_numbers_are_problems(
    tmp_path: Path, input_dir: Path, column: str, value: str, message_part: str
) -> None:
    metadata, path = read(tmp_path, input_dir, f'audio_file,call_id,{column}\nok.wav,C0,\na.wav,C1,"{value}"\n')
    (problem,) = metadata.problems
    assert (problem.source, problem.row, problem.column, problem.value) == (str(path), 3, column, value)
    assert message_part in problem.message
    call = metadata.by_audio_file["a.wav"]  # the row is kept, the field is NULL
    assert getattr(call, column) is None
    assert call.row == 3
    if column != "call_id":
        assert call.call_id == "C1"


def test_crm_export_with_numbers_as_text(tmp_path: Path, input_dir: Path) -> None:
    """A realistic export: every harmless form parsed, every destroyed value reported at its row and column."""
    metadata, _ = read(
        tmp_path,
        input_dir,
        "call_id,audio_file,caller_number,case_id,survey_score,hold_s,acw_s,started_at\n"
        'C1,a.wav,13800138000,K1,４,30秒,"1,200",2026-11-20 09:30\n'
        "C2,b.wav,1.38001E+10,2.02611E+11,五,30 sec,１２,2026-13-40\n"
        "C3,c.wav,０１３８００１３８０００,K3,4.5, 45s ,,yesterday\n"
        "C4,d.wav,,K4,,,,20/11/2026\n",
        bom=True,
    )
    assert [(p.row, p.column) for p in metadata.problems] == [  # by row, then in KNOWN_COLUMNS order
        (3, "started_at"),
        (3, "caller_number"),
        (3, "survey_score"),
        (3, "case_id"),
        (4, "started_at"),
        (5, "started_at"),
    ]
    calls = metadata.by_audio_file
    assert list(calls) == ["a.wav", "b.wav", "c.wav", "d.wav"]
    assert (calls["a.wav"].caller_number, calls["a.wav"].survey_score) == ("13800138000", 4.0)
    assert (calls["a.wav"].hold_s, calls["a.wav"].acw_s) == (30.0, 1200.0)
    assert calls["a.wav"].started_at == datetime(2026, 11, 20, 9, 30)
    b = calls["b.wav"]
    assert (b.call_id, b.caller_number, b.case_id, b.survey_score, b.started_at) == ("C2", None, None, None, None)
    assert (b.hold_s, b.acw_s) == (30.0, 12.0)
    c = calls["c.wav"]
    assert (c.caller_number, c.survey_score, c.hold_s, c.acw_s, c.started_at) == ("013800138000", 4.5, 45.0, None, None)
    assert calls["d.wav"].started_at is None


def test_full_width_call_id_is_a_duplicate_of_its_ascii_form(tmp_path: Path, input_dir: Path) -> None:
    metadata, _ = read(tmp_path, input_dir, "call_id,audio_file\nC1,a.wav\nＣ１,b.wav\n")
    assert list(metadata.by_audio_file) == ["a.wav"]
    (problem,) = metadata.problems
    assert (problem.row, problem.column, problem.value) == (3, "call_id", "Ｃ１")  # the cell as written
    assert "duplicate call_id (first on line 2)" in problem.message


def test_excel_destroyed_call_ids_are_not_duplicates(tmp_path: Path, input_dir: Path) -> None:
    """Two call IDs Excel turned into the same 2.02611E+11 are two calls, not one call twice."""
    metadata, _ = read(tmp_path, input_dir, "call_id,audio_file\n2.02611E+11,a.wav\n2.02611E+11,b.wav\n")
    assert list(metadata.by_audio_file) == ["a.wav", "b.wav"]
    assert all(call.call_id is None for call in metadata.by_audio_file.values())
    assert [(p.row, p.column) for p in metadata.problems] == [(2, "call_id"), (3, "call_id")]


def test_a_skipped_row_does_not_claim_its_call_id(tmp_path: Path, input_dir: Path) -> None:
    """Regression: line 3 is skipped (same file as line 2); its call_id C2 must not make line 4, the only
    kept row with C2, a 'duplicate' of a row that was never kept (that call was lost)."""
    metadata, _ = read(tmp_path, input_dir, "call_id,audio_file\nC1,a.wav\nC2,a.wav\nC2,b.wav\n")
    assert {name: call.call_id for name, call in metadata.by_audio_file.items()} == {"a.wav": "C1", "b.wav": "C2"}
    (problem,) = metadata.problems
    assert (problem.row, problem.column, problem.value) == (3, "audio_file", "a.wav")


def test_nul_byte_in_audio_file_is_a_problem(tmp_path: Path, input_dir: Path) -> None:
    """Regression: a NUL byte made Path.resolve raise ValueError out of read_metadata."""
    metadata, _ = read(tmp_path, input_dir, "audio_file,call_id\na\x00b.wav,C1\nc.wav,C2\n")
    assert list(metadata.by_audio_file) == ["c.wav"]
    (problem,) = metadata.problems
    assert (problem.row, problem.column, problem.value) == (2, "audio_file", "a\x00b.wav")
    assert "not a usable path" in problem.message
