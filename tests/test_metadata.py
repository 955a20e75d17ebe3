"""read_metadata: typed fields, one RowProblem per bad cell (row kept), unusable files refused."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from qa_pipeline.metadata import CallMetadata, Metadata, MetadataError, RowProblem, read_metadata


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
