"""The batched CsvExampleGen executor against TFX's own, on the same files, on Beam: same splits, same examples; the
same file in the dialects users' tools write gives the same examples; a file that cannot be read fails with one
sentence before anything is written."""

import csv
import io
import re
from pathlib import Path
from typing import Dict, List

import apache_beam as beam
import pytest
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions
from google.protobuf import json_format
from tfx.components.example_gen.csv_example_gen import component as tfx_component
from tfx.components.example_gen.csv_example_gen import executor as tfx_executor
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts

from components.csv_example_gen import executor
from components.csv_example_gen.component import CsvExampleGen
from components.csv_example_gen.dialect import BYTE_ORDER_MARK, CsvFormatError
from pipeline.runners.scratch import scratch_tempdir
from tests.helpers import GERMAN_CREDIT_CSV

IN_MEMORY = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
MULTI_PROCESSING = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
SPLITS = {"train": 7, "eval": 2, "test": 1}

# Every type TFX infers (int, float, string, a column with no value), and what moves a column up the order:
# an int beyond int64, a float in an int column, words in a float column; empty cells, quoted commas and quotes,
# a blank line, a quoted line break, non-ASCII names and values, and names out of order.
EDGE_CSV = (
    'zeta,id,score,amount,big,empty,note,ünï\n'
    '1,-7,0.5,10,1,,"a, b",é\n'
    '2,0,,20,9223372036854775808,,"say ""hi""",x\n'
    '\n'
    '3,12,1e5,,3,,"two\nlines",\n'
    '4,5,nan,30.5,4,,plain,ß\n'
    ',6,-inf,forty,5,, spaced ,y\n'
)


def run_executor(executor_class, input_dir: Path, out_dir: Path, beam_args=IN_MEMORY) -> Dict[str, List[bytes]]:
    """The executor's output splits, each a sorted list of the examples' deterministic serializations."""
    examples = standard_artifacts.Examples()
    examples.uri = str(out_dir)
    split_config = example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=buckets) for name, buckets in SPLITS.items()])
    properties = {
        "input_base": str(input_dir),
        "input_config": json_format.MessageToJson(example_gen_pb2.Input(
            splits=[example_gen_pb2.Input.Split(name="single_split", pattern="*")])),
        "output_config": json_format.MessageToJson(example_gen_pb2.Output(split_config=split_config)),
        "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
        "output_file_format": example_gen_pb2.FORMAT_TFRECORDS_GZIP,
    }
    context = executor_class.Context(beam_pipeline_args=beam_args, tmp_dir=str(out_dir / ".tmp"))
    with scratch_tempdir():  # the package of TFX that each Beam executor builds for remote workers
        executor_class(context).Do({}, {"examples": [examples]}, properties)
    return {
        split: sorted(
            tf.train.Example.FromString(record.numpy()).SerializeToString(deterministic=True)
            for record in tf.data.TFRecordDataset(
                sorted(map(str, (out_dir / f"Split-{split}").iterdir())), compression_type="GZIP"))
        for split in SPLITS
    }


def both(input_dir: Path, tmp_path: Path):
    return (run_executor(tfx_executor.Executor, input_dir, tmp_path / "tfx"),
            run_executor(executor.Executor, input_dir, tmp_path / "ours"))


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_the_edge_cases_give_tfx_executors_examples(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(executor, "BATCH_RECORDS", 2)  # several batches, one of them with the blank line
    theirs, ours = both(write(tmp_path / "in", "edge.csv", EDGE_CSV).parent, tmp_path)
    assert ours == theirs
    assert sum(map(len, ours.values())) == 5
    example = tf.train.Example.FromString(next(e for split in ours.values() for e in split))
    kinds = {name: feature.WhichOneof("kind") for name, feature in example.features.feature.items()}
    assert kinds == {"zeta": "int64_list", "id": "int64_list", "score": "float_list", "amount": "bytes_list",
                     "big": "bytes_list", "empty": None, "note": "bytes_list", "ünï": "bytes_list"}


def test_the_german_credit_data_in_two_files_gives_tfx_executors_splits(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(executor, "BATCH_RECORDS", 64)
    header, *rows = GERMAN_CREDIT_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    half = len(rows) // 2
    write(tmp_path / "in", "a.csv", header + "".join(rows[:half]))
    write(tmp_path / "in", "b.csv", header + "".join(rows[half:]))
    theirs, ours = both(tmp_path / "in", tmp_path)
    assert ours == theirs
    assert sum(map(len, ours.values())) == len(rows)
    assert all(ours.values())


EDGE_ROWS = list(csv.reader(io.StringIO(EDGE_CSV, newline="")))
NUMBER = re.compile(r"-?\d+(\.\d*)?([eE][-+]?\d+)?")


def written(rows, delimiter=",", quoting="minimal", line_ending="\n", bom=False) -> bytes:
    """`rows` (the header first) as users' tools write them. quoting: 'minimal', where a field needs it (Excel,
    pandas' default); 'all' (pandas QUOTE_ALL); 'text', names and text but not numbers (R's write.csv, pandas
    QUOTE_NONNUMERIC). `line_ending` ends each record; a line break inside a field stays as it is."""
    def field(cell: str, is_name: bool) -> str:
        quoted = (quoting == "all" or (quoting == "text" and (is_name or not NUMBER.fullmatch(cell)))
                  or any(c in cell for c in (delimiter, '"', "\n", "\r")))
        return '"' + cell.replace('"', '""') + '"' if quoted else cell

    text = "".join(delimiter.join(field(cell, i == 0) for cell in row) + line_ending for i, row in enumerate(rows))
    return (BYTE_ORDER_MARK if bom else b"") + text.encode("utf-8")


PLAIN = written(EDGE_ROWS)  # EDGE_CSV itself, on which TFX's executor gives the same examples (above)
DIALECTS = {
    "UTF-8 byte-order mark": written(EDGE_ROWS, bom=True),
    "CRLF after each record (pandas' lineterminator)": written(EDGE_ROWS, line_ending="\r\n"),
    "CRLF everywhere, in the quoted line break too (unix2dos)": PLAIN.replace(b"\n", b"\r\n"),
    "semicolons": written(EDGE_ROWS, delimiter=";"),
    "tabs": written(EDGE_ROWS, delimiter="\t"),
    "names and text quoted (R's write.csv)": written(EDGE_ROWS, quoting="text"),
    "every field quoted (pandas' QUOTE_ALL)": written(EDGE_ROWS, quoting="all"),
    "Excel in a German locale: mark, semicolons, CRLF": written(EDGE_ROWS, ";", line_ending="\r\n", bom=True),
}


def transform_examples(input_dir: Path, out_dir: Path) -> List[bytes]:
    """The executor's PTransform alone, on Beam (no split, no TFX): the serialized examples of the files, sorted."""
    with beam.Pipeline(options=PipelineOptions(IN_MEMORY)) as pipeline:
        _ = (pipeline
             | executor.CsvToSerializedExamples({"input_base": str(input_dir)}, "*")
             | beam.io.WriteToTFRecord(str(out_dir / "examples")))
    return sorted(record.numpy() for record in tf.data.TFRecordDataset(sorted(map(str, out_dir.glob("examples*")))))


@pytest.fixture(scope="module")
def plain_examples(tmp_path_factory) -> List[bytes]:
    assert PLAIN == EDGE_CSV.encode("utf-8")
    directory = tmp_path_factory.mktemp("plain")
    return transform_examples(write(directory / "in", "edge.csv", PLAIN).parent, directory)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_file_in_each_dialect_gives_the_plain_files_examples(dialect, plain_examples, tmp_path):
    assert transform_examples(write(tmp_path / "in", "edge.csv", DIALECTS[dialect]).parent, tmp_path) == plain_examples


def test_the_files_of_one_split_may_differ_in_dialect(plain_examples, tmp_path):
    header, *rows = EDGE_ROWS
    write(tmp_path / "in", "a.csv", written([header, *rows[:3]], quoting="text"))
    write(tmp_path / "in", "b.csv", written([header, *rows[3:]], ";", line_ending="\r\n", bom=True))
    assert transform_examples(tmp_path / "in", tmp_path) == plain_examples


ROW_NAMES = ("line 1: column 1 has no name; every column needs one (R's write.csv puts row names there and pandas' "
             "to_csv its index: write.csv(x, row.names = FALSE) or df.to_csv(path, index=False) leaves them out)")
BAD_FILES = {
    "a row a field short": ("a,b\n1,2\n3\n", "line 3: 1 fields where the header names 2"),
    "a row a field long": ("a,b\n1,2,3\n", "line 2: 3 fields where the header names 2"),
    "lines counted as written (mark, CRLF, a quoted line break)": (
        '\ufeffa;b\r\n1;"x\r\ny"\r\n3\r\n', "line 4: 1 fields where the header names 2"),
    "a quote never closed": ('a,b\n1,2\n3,"open\n4,5\n', "line 3, column 'b': a quote is never closed"),
    "a quote inside an unquoted field": ('a,b\n5\'10",x\n2,y\n', "line 2, column 'a': a quote inside a field that "
                                         "does not start with one; quote the whole field and double the quotes in it"),
    "not UTF-8": (b"a,b\n1,2\n3,\xe9t\xe9\n", "line 3 is not UTF-8 (byte 0xe9 at offset 10); save the file as UTF-8"),
    "a name twice": ("a,b,a\n1,2,3\n", "line 1: columns 1 and 3 are both named 'a'; column names must be unique"),
    "a column without a name": ("a,b,\n1,2,\n", "line 1: column 3 has no name; every column needs one"),
    "R's row names": ('"","a","b"\n"1",1,"x"\n', ROW_NAMES),
    "pandas' index": (',a,b\n0,1,x\n', ROW_NAMES),
    "an unclear delimiter": ("a;b,c\n1;2\n", "line 1 splits into 2 names on ',' and on ';' alike, so the delimiter "
                                             "is unclear; quote the names that hold one of them"),
    "no header": ("", "the file is empty; it needs a header line naming the columns"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_file_that_cannot_be_read_fails_with_one_sentence_naming_file_and_line(case, tmp_path):
    text, message = BAD_FILES[case]
    path = write(tmp_path / "in", "bad.csv", text)
    with pytest.raises(CsvFormatError, match=f"^{re.escape(f'{path}: {message}')}$"):
        transform_examples(path.parent, tmp_path)


def test_the_files_of_one_split_must_name_the_same_columns(tmp_path):
    write(tmp_path / "in", "a.csv", "a,b\n1,2\n")
    write(tmp_path / "in", "b.csv", "a;c\n1;2\n")
    with pytest.raises(CsvFormatError, match=r"b\.csv: line 1 names other columns than .*a\.csv"):
        transform_examples(tmp_path / "in", tmp_path)


def test_a_bad_file_fails_before_anything_is_written_whichever_runner(tmp_path):
    """Worker processes report a DoFn's error as a RuntimeError holding its traceback: the file is read first."""
    path = write(tmp_path / "in", "bad.csv", "a,b\n1,2\n3\n")
    with pytest.raises(CsvFormatError, match=f"^{re.escape(f'{path}: line 3: 1 fields where the header names 2')}$"):
        run_executor(executor.Executor, path.parent, tmp_path / "out", MULTI_PROCESSING)
    assert not list((tmp_path / "out").glob("Split-*"))


def test_the_component_is_tfxs_with_the_batched_executor():
    component = CsvExampleGen(input_base="/data")
    assert component.id == "CsvExampleGen"
    assert component.executor_spec.executor_class is executor.Executor
    assert CsvExampleGen.SPEC_CLASS is tfx_component.CsvExampleGen.SPEC_CLASS
