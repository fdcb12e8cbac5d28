#!/usr/bin/python3
"""check_gui.py — checks for tests/gui/test_gui.sh (standard library only: no numpy on CI).

  check_gui.py panels SHOT.png STATE.json              every panel rectangle has drawn content
  check_gui.py knob STATE.json V4LAB_CLI DB           the GUI's displayed prediction == `v4lab --json predict`
  check_gui.py validation STATE.json KNOB TEXT        the GUI reports TEXT under KNOB and predicts nothing
  check_gui.py execute STATE.json V4LAB_CLI DB        the GUI's kernel run is in the DB, stored as the CLI stores it
"""
import json
import sqlite3
import struct
import subprocess
import sys
import zlib


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def read_png(path):
    """8-bit RGB/RGBA PNG -> (width, height, channels, rows as bytearrays)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(path + " is not a PNG")
    pos, idat, w = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                fail("unsupported PNG format (depth %d, colour type %d, interlace %d)" % (depth, ctype, interlace))
            ch = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    raw = zlib.decompress(b"".join(idat))
    stride = w * ch
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        cur = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(ch, stride):
                cur[i] = (cur[i] + cur[i - ch]) & 255
        elif f == 2:
            for i in range(stride):
                cur[i] = (cur[i] + prev[i]) & 255
        elif f == 3:
            for i in range(stride):
                left = cur[i - ch] if i >= ch else 0
                cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = cur[i - ch] if i >= ch else 0
                b = prev[i]
                c = prev[i - ch] if i >= ch else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        elif f != 0:
            fail("bad PNG filter %d in row %d" % (f, y))
        rows.append(cur)
        prev = cur
    return w, h, ch, rows


def panels(shot, state_path):
    st = json.load(open(state_path))
    w, h, ch, rows = read_png(shot)
    fbw, fbh = st["framebuffer"]
    if (w, h) != (fbw, fbh):
        fail("screenshot is %dx%d, framebuffer %dx%d" % (w, h, fbw, fbh))
    sx, sy = fbw / st["display"][0], fbh / st["display"][1]
    bg = tuple(st["window_bg"])
    expected = ["configure", "predict", "studies", "timeline", "runs", "execute"]
    if sorted(st["panels"]) != sorted(expected):
        fail("panels in state: %s" % sorted(st["panels"]))
    if "prediction" not in st:
        fail("no prediction displayed: %s" % st.get("errors"))
    for name in expected:
        x, y, pw, ph = st["panels"][name]
        if pw < 100 or ph < 80:
            fail("%s panel is only %gx%g" % (name, pw, ph))
        # Skip the title bar (it is drawn for any window); count pixels in the body.
        x0, x1 = int((x + 2) * sx), int((x + pw - 2) * sx)
        y0, y1 = int((y + 24) * sy), int((y + ph - 2) * sy)
        total = panel_bg = content = 0
        for yy in range(y0, y1, 2):
            row = rows[yy]
            for xx in range(x0, x1, 2):
                px = tuple(row[xx * ch:xx * ch + 3])
                total += 1
                if max(abs(px[i] - bg[i]) for i in range(3)) <= 3:
                    panel_bg += 1
                else:
                    content += 1
        share = content / total
        print("%-10s rect %s: %.1f%% content pixels, %.1f%% panel background" %
              (name, [x, y, pw, ph], 100 * share, 100 * panel_bg / total))
        # Both: the window itself was drawn (its background shows) and something was drawn in it.
        if panel_bg / total < 0.05:
            fail("%s: the panel background covers only %.1f%% (window not drawn there?)" % (name, 100 * panel_bg / total))
        if share < 0.03:
            fail("%s: only %.2f%% of the panel differs from its background (nothing rendered?)" % (name, 100 * share))
    print("panels ok")


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def knob(state_path, cli, db):
    st = json.load(open(state_path))
    c, p = st["config"], st.get("prediction")
    if p is None:
        fail("no prediction in the state: %s" % st.get("errors"))
    if st["errors"]:
        fail("GUI shows errors: %s" % st["errors"])
    r = p["resolved"]
    args = [cli, "--json", "--db", db, "predict", "--no-save", "--model", c["model"], "--hw", c["hw"],
            "--phase", c["phase"], "--batch", c["batch"], "--context", c["context"], "--chunk", c["chunk"],
            "--tp", str(r["tp"]), "--ep", str(r["ep"]), "--dp", str(r["dp"]), "--gpus", str(r["gpus"]),
            "--mtp-accept", c["mtp_accept"], "--engram-prefetch", c["prefetch"], "--price", c["price"]]
    if c["overlap"] == "true":
        args.append("--overlap")
    if c["mtp"] != "true":
        args.append("--no-mtp")
    if c["topk"] != "0" or c["hc"] != "0":
        fail("knob test must use CLI-expressible knobs (topk/hc are GUI overrides)")
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        fail("v4lab predict failed: %s" % out.stderr)
    j = json.loads(out.stdout)
    m, mem = j["metrics"], j["memory"]
    pairs = [("step_s", p["step_s"], m["step_s"]), ("ttft_s", p["ttft_s"], m["ttft_s"]),
             ("tpot_s", p["tpot_s"], m["tpot_s"]),
             ("decode_tokens_per_s_per_gpu", p["decode_tokens_per_s_per_gpu"], m["decode_tokens_per_s_per_gpu"]),
             ("prefill_tokens_per_s_per_gpu", p["prefill_tokens_per_s_per_gpu"], m["prefill_tokens_per_s_per_gpu"]),
             ("usd_per_m_output_tokens", p["usd_per_m_output_tokens"], m["usd_per_m_output_tokens"]),
             ("memory.total_bytes", p["memory"]["total_bytes"], mem["total_bytes"]),
             ("memory.kv_bytes", p["memory"]["kv_bytes"], mem["kv_bytes"])]
    if p["cost_model"] != j["config"]["cost_model"]:
        fail("cost model label: GUI %r, v4lab predict %r" % (p["cost_model"], j["config"]["cost_model"]))
    for name, gui, ref in pairs:
        print("%-30s gui %.12g  cli %.12g" % (name, gui, ref))
        if not close(gui, ref):
            fail("%s: GUI %r vs v4lab predict %r" % (name, gui, ref))
    # The knob really moved: the default configuration predicts something else.
    d = subprocess.run([cli, "--json", "--db", db, "predict", "--no-save", "--model", "deepseek_v4_flash"],
                       capture_output=True, text=True)
    dm = json.loads(d.stdout)["metrics"]
    if close(dm["step_s"], p["step_s"], 1e-6):
        fail("prediction equals the default configuration's: the --set knobs had no effect")
    print("knob ok (default step %.6g s, after --set %.6g s)" % (dm["step_s"], p["step_s"]))


def validation(state_path, knob_name, text):
    st = json.load(open(state_path))
    errs = st["errors"]
    print("errors:", errs)
    if not any(e["knob"] == knob_name and text in e["message"] for e in errs):
        fail("no error on knob %s containing %r" % (knob_name, text))
    if "prediction" in st:
        fail("an invalid configuration still has a current prediction")
    print("validation ok")


def execute(state_path, cli, db):
    st = json.load(open(state_path))
    res = st["execute"]["results"]
    if len(res) != 1 or not res[0]["ok"]:
        fail("execution results: %s" % res)
    r = res[0]
    con = sqlite3.connect(db)
    run = con.execute("SELECT kind, name, backends, status FROM runs WHERE id = ?", (r["run_id"],)).fetchone()
    if run is None:
        fail("run %s not in %s" % (r["run_id"], db))
    print("GUI run:", run)
    if run[0] != "kernel" or run[1] != r["op"] or run[3] != "ok":
        fail("GUI run row %s" % (run,))
    meas = con.execute("SELECT op, backend, params_json, median_s, reps, verified FROM measurements WHERE run_id = ?",
                       (r["run_id"],)).fetchall()
    pred = con.execute("SELECT op, hardware, params_json, total_s, bound, model FROM predictions WHERE run_id = ?",
                       (r["run_id"],)).fetchall()
    if len(meas) != 1 or not meas[0][3] > 0 or meas[0][5] != 1:
        fail("GUI measurements %s" % meas)
    if abs(meas[0][3] - r["measured_s"]) > 1e-15 * max(1.0, r["measured_s"]):
        fail("stored median %r vs displayed %r" % (meas[0][3], r["measured_s"]))
    # The same kernel through the CLI: same kind of rows, same params, same (deterministic) prediction.
    params = json.loads(meas[0][2])
    args = [cli, "--json", "--db", db, "kernel", r["op"], "-b", r["backend"], "-m", st["config"]["model"],
            "--min-time", "0.02", "--verify", "--save", "--predict", r["hardware"]]
    for k in ("n_tokens",):
        args += ["--set", "%s=%d" % (k, params[k])]
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        fail("v4lab kernel failed: %s" % out.stderr)
    cli_id = json.loads(out.stdout)["run_id"]
    cli_run = con.execute("SELECT kind, name, backends, status FROM runs WHERE id = ?", (cli_id,)).fetchone()
    cli_meas = con.execute("SELECT op, backend, params_json FROM measurements WHERE run_id = ?", (cli_id,)).fetchall()
    cli_pred = con.execute("SELECT op, hardware, params_json, total_s, bound, model FROM predictions WHERE run_id = ?",
                           (cli_id,)).fetchall()
    if cli_run != run:
        fail("run rows differ: GUI %s, CLI %s" % (run, cli_run))
    if [m[:3] for m in meas] != cli_meas:
        fail("measurement rows differ: GUI %s, CLI %s" % ([m[:3] for m in meas], cli_meas))
    if pred != cli_pred:
        fail("prediction rows differ: GUI %s, CLI %s" % (pred, cli_pred))
    print("execute ok: run %d (GUI) and run %d (CLI) store the same rows; measured %.3g s" %
          (r["run_id"], cli_id, meas[0][3]))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        fail(__doc__)
    {"panels": panels, "knob": knob, "validation": validation, "execute": execute}[sys.argv[1]](*sys.argv[2:])
