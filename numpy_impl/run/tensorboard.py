"""TensorBoard event files written from NumPy code: scalars and the HParams view.

The tensorboard package's own event writer and protocol buffers do the writing, so the NumPy side
needs neither torch nor TensorFlow (``torch.utils.tensorboard`` would import torch, and
``tensorboard.plugins.hparams.summary`` imports TensorFlow). The HParams view reads three
summaries of the ``hparams`` plugin (the experiment's hyperparameter and metric names, the
session's values, its end); the metrics it shows are scalars of the same run and tag.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

HParam = float | int | str | bool


class EventWriter:
    """One TensorBoard run (a folder of event files)."""

    def __init__(self, log_dir: str | Path) -> None:
        self.log_dir = Path(log_dir)
        self._writer = EventFileWriter(str(self.log_dir))

    def scalars(self, values: Mapping[str, float], step: int) -> None:
        """One scalar per tag at ``step``."""
        summary = Summary(value=[Summary.Value(tag=tag, simple_value=float(value))
                                 for tag, value in values.items()])
        self._add(summary, step)

    def summary(self, summary: Summary, step: int) -> None:
        """A ready-made ``Summary`` (e.g. an image or a histogram encoded elsewhere) at
        ``step``."""
        self._add(summary, step)

    def hparams(self, hparams: Mapping[str, HParam | None], metrics: Iterable[str]) -> None:
        """The run's hyperparameters for the HParams view, which shows ``metrics`` (scalar tags
        of this run) beside them. None values are left out (the view has no null)."""
        values = {k: v for k, v in hparams.items() if v is not None}
        infos = [api_pb2.HParamInfo(name=name, type=_data_type(value))
                 for name, value in values.items()]
        experiment = api_pb2.Experiment(
            hparam_infos=infos,
            metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag)) for tag in metrics])
        start = plugin_data_pb2.SessionStartInfo()
        for name, value in values.items():
            if isinstance(value, bool):
                start.hparams[name].bool_value = value
            elif isinstance(value, int | float):
                start.hparams[name].number_value = value
            else:
                start.hparams[name].string_value = str(value)
        end = plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS)
        for tag, content in ((metadata.EXPERIMENT_TAG, {"experiment": experiment}),
                             (metadata.SESSION_START_INFO_TAG, {"session_start_info": start}),
                             (metadata.SESSION_END_INFO_TAG, {"session_end_info": end})):
            data = plugin_data_pb2.HParamsPluginData(version=metadata.PLUGIN_DATA_VERSION,
                                                     **content)
            meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
                plugin_name=metadata.PLUGIN_NAME, content=data.SerializeToString()))
            self._add(Summary(value=[Summary.Value(tag=tag, metadata=meta)]), 0)

    def close(self) -> None:
        self._writer.close()

    def _add(self, summary: Summary, step: int) -> None:
        self._writer.add_event(Event(summary=summary, step=int(step), wall_time=time.time()))


def _data_type(value: HParam) -> int:
    if isinstance(value, bool):
        return api_pb2.DATA_TYPE_BOOL
    if isinstance(value, int | float):
        return api_pb2.DATA_TYPE_FLOAT64
    return api_pb2.DATA_TYPE_STRING


def write_hparams(log_dir: str | Path, hparams: Mapping[str, HParam | None],
                  metrics: Iterable[str]) -> None:
    """Add the HParams view's summaries to the run in ``log_dir`` (another writer's, e.g. a
    Lightning logger's: TensorBoard reads every event file of a run folder), and close."""
    writer = EventWriter(log_dir)
    writer.hparams(hparams, metrics)
    writer.close()
