"""Writes session files the way the lab's Python code does, for tests/interop/labSession.test.ts.

Run with Debian's /usr/bin/python3 (python3-h5py). Usage: write_lab_session.py OUT_DIR

- session.h5: what hdmea_processing's `PipelineSession.save()` writes (brief §4.1–4.3) with h5py 3:
  scalars with shape (), Python bools as HDF5 enums (h5py's bool), str as variable-length UTF-8,
  numpy bytes as fixed-length strings, (1,)-shaped unit_meta values, integer dict keys as decimal
  names, an empty spike train, and two things our model has no place for (a compound table and an
  object reference) that must be reported, not crash the load.
- immediate.h5: the older immediate mode (brief §4.4): no /@dataset_id, root attrs
  hdmea_pipeline_version/created_at/updated_at/stage1_*, `features_extracted` and `source_files` as
  JSON string attrs, section_time_* attrs, (1,)-shaped metadata and 1-element string arrays,
  `stimulus/frame_time` (singular), `@spike_count` on units, `spike_times@unit`, features with
  scalars as attributes.
"""
import json
import os
import sys

import h5py
import numpy as np

STR = h5py.string_dtype()


def write_value(group, name, value):
    """The lab's session writer mapping (brief §4.3): dict → group, ndarray → dataset, scalars → ()."""
    if value is None:
        return
    if isinstance(value, dict):
        sub = group.create_group(str(name))
        for k, v in value.items():
            write_value(sub, k, v)
    elif isinstance(value, np.ndarray):
        group.create_dataset(str(name), data=value)
    elif isinstance(value, (list, tuple)):
        group.create_dataset(str(name), data=np.asarray(value))
    elif isinstance(value, (bool, np.bool_)):
        group.create_dataset(str(name), data=bool(value))
    elif isinstance(value, (int, float, np.integer, np.floating)):
        group.create_dataset(str(name), data=value)
    elif isinstance(value, (str, bytes)):
        group.create_dataset(str(name), data=value)
    else:
        group.create_dataset(str(name), data=str(value))


def session_mode(path):
    frames = np.array([40000, 40333, 40666, 41000], dtype=np.uint64)
    with h5py.File(path, "w") as f:
        f.attrs["dataset_id"] = "2024.08.08-10.40.20-Rec"
        f.attrs["created_at"] = "2026-01-02T03:04:05+00:00"
        f.attrs["hdmea_version"] = "0.1.0"
        src = f.create_group("source_files")
        src.attrs["cmcr_path"] = "/share/2024.08.08-10.40.20-Rec.cmcr"
        src.attrs["cmtr_path"] = "/share/2024.08.08-10.40.20-Rec-.cmtr"
        pipe = f.create_group("pipeline")
        pipe.attrs["stage1_completed"] = True  # h5py: an HDF5 enum (FALSE=0, TRUE=1) over int8
        pipe.attrs["stage1_timestamp"] = "2026-01-02T03:10:00"
        info = pipe.create_group("session_info")
        info.attrs["saved_at"] = "2026-01-02T03:10:00+00:00"
        info.create_dataset("completed_steps", data=np.array(["load_recording", "add_section_time"], dtype=object), dtype=STR)
        info.create_dataset("warnings", data=np.array(["ünïcode warning"], dtype=object), dtype=STR)

        write_value(f, "metadata", {
            "dataset_id": "2024.08.08-10.40.20-Rec",
            "acquisition_rate": np.float64(20000.0),
            "sample_interval": 1 / 20000.0,
            "frame_timestamps": frames,
            "frame_time": frames / 20000.0,
            "cmcr_meta": {
                "LB.RecordingDuration": np.array([60_000_000], dtype=np.int64),  # (1,)
                "ProgramName": np.bytes_(b"CMOS-MEA-Control"),  # fixed-length bytes
                "recording_duration_s": 60.0,
            },
            "section_time_playlist": "demo_set_a",
            "section_time_repeats": 1,
            "is_test_mode": False,  # bool dataset, enum
        })
        write_value(f, "stimulus", {
            "light_reference": {"raw_ch1": np.arange(100, dtype=np.float32), "10hz_ch1": np.zeros(3, dtype=np.float32)},
            "frame_times": {"default": frames},
            "section_time": {"step_flash_4s_4i_2x": np.array([[300333, 680666]], dtype=np.int64)},
            "light_template": {"step_flash_4s_4i_2x": np.ones(5, dtype=np.float32)},
        })
        units = f.create_group("units")
        for num, spikes in [(1, np.array([100, 2000, 40000], dtype=np.uint64)), (12, np.array([], dtype=np.uint64))]:
            u = units.create_group(f"unit_{num:03d}")
            u.attrs["row"] = np.int64(3)
            u.attrs["col"] = np.int64(65)
            u.attrs["global_id"] = np.int64(195)
            u.attrs["unit_num"] = np.int64(num)
            u.attrs["original_name"] = f"Unit_{num}"
            u.attrs["is_good"] = np.bool_(num == 1)  # bool attribute on a unit: enum
            u.create_dataset("spike_times", data=spikes)
            u.create_dataset("waveform", data=np.linspace(-1, 1, 8, dtype=np.float32))
            u.create_dataset("firing_rate_10hz", data=np.zeros(600, dtype=np.float32))
            write_value(u, "unit_meta", {
                "snr": np.array([12.5]),
                "roiid": np.array([7], dtype=np.int64),
                "tags": np.bytes_(b"ON"),
                "attr_label": "ganglion",
                "peaks_data": {"timestamp": np.array([5000, 100000], dtype=np.int64), "includepeak": np.array([1, 0], dtype=np.int32)},
            })
            write_value(u, "spike_times_sectioned", {
                "step_flash_4s_4i_2x": {
                    "full_spike_times": np.array([2000], dtype=np.int64),
                    "trials_spike_times": {0: np.array([2000], dtype=np.int64), 1: np.array([], dtype=np.int64)},
                    "trials_start_end": np.array([[320333, 480333], [480333, 640333]], dtype=np.int64),
                    "_attrs": {"n_trials": 2, "pad_margin": (0.0, 0.0), "pre_samples": 0, "post_samples": 0},
                },
            })
            write_value(u, "features", {
                "eimage_sta": {"data": np.zeros((5, 3, 3)), "metadata": {"n_spikes_used": 3, "skip_highpass": False, "window_range": np.array([-10, 40])}},
                "frif": {"data": {"FRIF": np.ones(3, dtype=np.float32)}, "metadata": {"extractor_version": "1.0", "extracted_at": "2026-01-02"}},
            })
        # No place in the model: must be reported in the load warning, not crash it.
        units["unit_001"].create_dataset("peaks_table", data=np.array([(1, 2.5)], dtype=[("Timestamp", "<i8"), ("Amp", "<f4")]))
        units["unit_001"]["unit_meta"].create_dataset("source_ref", data=f["stimulus"].ref, dtype=h5py.ref_dtype)


def immediate_mode(path):
    frames = np.array([40000, 40333, 40666], dtype=np.uint64)
    with h5py.File(path, "w") as f:
        f.attrs["hdmea_pipeline_version"] = "0.0.9"
        f.attrs["created_at"] = "2025-05-06T07:08:09"
        f.attrs["updated_at"] = "2025-05-06T08:00:00"
        f.attrs["stage1_completed"] = True
        f.attrs["stage1_params_hash"] = "sha256:0123456789abcdef"
        f.attrs["features_extracted"] = json.dumps(["frif", "baseline_127"])
        f.attrs["source_files"] = json.dumps({"cmcr_path": "D:/rec/old-Rec.cmcr", "cmtr_path": "D:/rec/old-Rec-.cmtr"})
        f.attrs["section_time_playlist"] = "demo_set_a"
        f.attrs["section_time_repeats"] = np.int64(2)
        md = f.create_group("metadata")
        md.create_dataset("dataset_id", data=np.array(["old-Rec"], dtype=object), dtype=STR)  # 1-element string array
        md.create_dataset("acquisition_rate", data=np.array([20000.0]))  # (1,)
        md.create_dataset("sample_interval", data=np.array([5e-5]))
        md.create_dataset("frame_timestamps", data=frames)
        st = f.create_group("stimulus")
        st.create_group("frame_time").create_dataset("default", data=frames)  # singular
        st.create_group("section_time").create_dataset("step_flash_4s_4i_2x", data=np.array([[1, 2], [3, 4]], dtype=np.int64))
        units = f.create_group("units")
        u = units.create_group("unit_003")
        u.attrs["row"] = 1
        u.attrs["col"] = 2
        u.attrs["global_id"] = 67
        u.attrs["unit_num"] = 3
        u.attrs["original_name"] = "Unit_3"
        u.attrs["spike_count"] = 2
        sp = u.create_dataset("spike_times", data=np.array([10, 20], dtype=np.uint64))
        sp.attrs["unit"] = "sample_index"
        feat = u.create_group("features").create_group("frif")
        feat.attrs["feature_name"] = "frif"
        feat.attrs["extractor_version"] = "1.0"
        feat.attrs["params_hash"] = "abc"
        feat.attrs["extracted_at"] = "2025-05-06"
        feat.attrs["mean_rate"] = 4.5  # scalar features are attributes in immediate mode
        feat.create_dataset("FRIF", data=np.ones(2, dtype=np.float32))
        sta = u["features"].create_group("eimage_sta")
        sta.create_dataset("data", data=np.zeros((2, 3, 3), dtype=np.float32))
        sta.attrs["n_spikes_used"] = 2
        sta.attrs["version"] = "1"


if __name__ == "__main__":
    out = sys.argv[1]
    session_mode(os.path.join(out, "session.h5"))
    immediate_mode(os.path.join(out, "immediate.h5"))
    print("ok")
