#!/usr/bin/env node
'use strict';
// Reference runner: executes an ONNX model with ONNX Runtime (CPU) and
// writes the requested outputs as raw little-endian float32 files.
//
// Usage:
//   node tools/ort_run.js --model M.onnx [--threads N] [--repeat K]
//       [--input NAME=FILE.f32:d0,d1,...]... [--output NAME=FILE.f32]...
//       [--extra-outputs] [--bench-only]
//
//   --input        raw float32 input file and its shape (size is checked)
//   --output       output name and file to write (at least one required;
//                  with --bench-only the file part may be omitted: --output NAME)
//   --threads      intraOpNumThreads (default 1); interOpNumThreads is 1
//   --repeat K     after one warm-up run, time K runs and print
//                  "median_ms=<x> min_ms=<y> threads=<n>"
//   --bench-only   do not write output files (timing only)
//   --opt-level L  graph optimisation level: disabled, basic, extended, all (default)
//   --args-file F  read further arguments from F, one per line
//   --rss          print rss_base_kb (module loaded, before the session) and maxrss_kb at the end
//   --serve        after the warm-up run print "ready", then run once per line read from stdin
//                  and print "ms=<x>", until end of input (the benchmark keeps both engines
//                  loaded this way and gives them short turns)
//   --profile-ops P  with --repeat: ONNX Runtime's own profiler on (its JSON goes to P_<time>.json
//                  and is deleted after reading); prints "profile <class> <ms> ms" per run of the
//                  timed runs, by op class: pointwise, depthwise and stem convolutions, swish
//                  (QuickGelu, Sigmoid), se (pooling, the 1x1 convs on 1x1 maps, the broadcast Mul),
//                  reorder (NCHWc layout changes), rest
//   --extra-outputs  also fetch every model output not named by --output and
//                  write it beside the first --output file as <name>.f32
//                  (characters outside [A-Za-z0-9._-] become '_'); prints
//                  "output <name> dims=<d0,d1,...> file=<path>" for each output
// Always prints "session_ms=<x>" (session creation time) on stdout.

const fs = require('fs');
const os = require('os');
const path = require('path');

const LITTLE_ENDIAN = os.endianness() === 'LE';

function fail(msg) {
  process.stderr.write(`ort_run: ${msg}\n`);
  process.exit(1);
}

function usage() {
  return 'usage: node tools/ort_run.js --model M.onnx [--threads N] [--repeat K] ' +
    '[--input NAME=FILE.f32:d0,d1,...]... [--output NAME=FILE.f32]... ' +
    '[--extra-outputs] [--bench-only] [--rss] [--serve] [--profile-ops PREFIX] [--opt-level L] [--args-file F]';
}

function parseIntArg(flag, v, min) {
  if (v === undefined || !/^[0-9]+$/.test(v)) fail(`${flag} needs a non-negative integer, got '${v}'`);
  const n = Number(v);
  if (n < min) fail(`${flag} must be >= ${min}, got ${n}`);
  return n;
}

// The class of one profiled node, from its op type and input shapes ({type: dims} objects).
function opClass(ev) {
  const op = ev.args.op_name;
  const shapes = (ev.args.input_type_shape || []).map((o) => Object.values(o)[0]);
  if (op === 'Conv' || op === 'FusedConv') {
    const x = shapes[0] || [], w = shapes[1] || [];
    if (x.length === 4 && x[2] === 1 && x[3] === 1) return 'se'; // the SE's 1x1 convs on the pooled vector
    if (w.length === 4 && w[2] === 1 && w[3] === 1) return 'pointwise';
    if (w.length === 4 && w[1] === 1) return 'depthwise';
    return 'stem';
  }
  if (op === 'QuickGelu' || op === 'Sigmoid') return 'swish';
  if (op === 'GlobalAveragePool' || op === 'Mul') return 'se';
  if (op === 'ReorderInput' || op === 'ReorderOutput') return 'reorder';
  return 'rest';
}

// Ends profiling, sums the node times of every run but the first (the warm-up) by class.
function printProfile(session, prefix) {
  session.endProfiling();
  const dir = path.dirname(prefix) || '.', base = path.basename(prefix) + '_';
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json'))
    .map((f) => path.join(dir, f)).sort((p, q) => fs.statSync(q).mtimeMs - fs.statSync(p).mtimeMs);
  if (files.length === 0) fail(`no profile written under ${prefix}_*.json`);
  const events = JSON.parse(fs.readFileSync(files[0], 'utf8'));
  fs.unlinkSync(files[0]);
  const runs = events.filter((e) => e.name === 'model_run').sort((p, q) => p.ts - q.ts);
  if (runs.length < 2) fail('the profile holds fewer than two runs');
  const from = runs[1].ts, n = runs.length - 1, ms = {};
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < from) continue;
    const c = opClass(e);
    ms[c] = (ms[c] || 0) + e.dur / 1000 / n;
  }
  for (const c of Object.keys(ms)) process.stdout.write(`profile ${c} ${ms[c].toFixed(3)} ms\n`);
}

function parseArgs(argv) {
  const a = { model: null, threads: 1, repeat: 0, inputs: [], outputs: [], extra: false, benchOnly: false };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let val;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    // allow --flag=value as well as --flag value (NAME=FILE values keep their '=')
    if (eq > 0 && ['--model', '--threads', '--repeat'].includes(arg.slice(0, eq))) {
      val = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (val !== undefined) return val;
      if (i + 1 >= argv.length) fail(`${arg} needs a value\n${usage()}`);
      return argv[++i];
    };
    switch (arg) {
      case '--model': a.model = next(); break;
      case '--threads': a.threads = parseIntArg('--threads', next(), 1); break;
      case '--repeat': a.repeat = parseIntArg('--repeat', next(), 0); break;
      case '--input': a.inputs.push(parseInputSpec(next())); break;
      case '--output': a.outputs.push(parseOutputSpec(next())); break;
      case '--extra-outputs': a.extra = true; break;
      case '--bench-only': a.benchOnly = true; break;
      case '--opt-level': a.optLevel = next(); break;
      case '--rss': a.rss = true; break;
      case '--serve': a.serve = true; break;
      case '--profile-ops': a.profile = next(); break;
      case '--args-file': {
        // One argument per line; long output lists go here, since very long command lines
        // have crashed node with onnxruntime-node.
        const extra = fs.readFileSync(next(), 'utf8').split('\n').filter((l) => l.length > 0);
        argv.splice(i + 1, 0, ...extra);
        break;
      }
      case '-h': case '--help':
        process.stdout.write(usage() + '\n');
        process.exit(0);
        break;
      default: fail(`unknown argument '${arg}'\n${usage()}`);
    }
  }
  if (!a.model) fail(`--model is required\n${usage()}`);
  if (a.profile && !(a.repeat > 0)) fail('--profile-ops needs --repeat K');
  if (a.outputs.length === 0) fail(`at least one --output NAME=FILE.f32 is required\n${usage()}`);
  if (!a.benchOnly) {
    for (const o of a.outputs) if (!o.file) fail(`--output ${o.name} needs =FILE (only --bench-only allows a bare name)`);
  }
  return a;
}

function parseInputSpec(s) {
  const eq = s.indexOf('=');
  if (eq <= 0) fail(`bad --input '${s}': expected NAME=FILE.f32:d0,d1,...`);
  const name = s.slice(0, eq);
  const rest = s.slice(eq + 1);
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) fail(`bad --input '${s}': missing ':shape'`);
  const file = rest.slice(0, colon);
  const shapeStr = rest.slice(colon + 1);
  // an empty shape string means a scalar
  const dims = shapeStr === '' ? [] : shapeStr.split(',').map((d) => {
    if (!/^[0-9]+$/.test(d.trim())) fail(`bad --input '${s}': dimension '${d}' is not a non-negative integer`);
    return Number(d.trim());
  });
  return { name, file, dims };
}

function parseOutputSpec(s) {
  const eq = s.indexOf('=');
  if (eq === 0) fail(`bad --output '${s}': expected NAME=FILE.f32`);
  if (eq < 0) return { name: s, file: null };
  const name = s.slice(0, eq);
  const file = s.slice(eq + 1);
  if (!file) fail(`bad --output '${s}': empty file name`);
  return { name, file };
}

function loadInput(ort, spec) {
  let buf;
  try {
    buf = fs.readFileSync(spec.file);
  } catch (e) {
    fail(`cannot read input '${spec.name}' from ${spec.file}: ${e.message}`);
  }
  const count = spec.dims.reduce((p, d) => p * d, 1);
  if (buf.length !== count * 4) {
    fail(`input '${spec.name}': ${spec.file} has ${buf.length} bytes, shape [${spec.dims.join(',')}] needs ${count * 4}`);
  }
  // copy into an aligned Float32Array (file is little-endian)
  let data;
  if (LITTLE_ENDIAN) {
    data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  } else {
    data = new Float32Array(count);
    for (let k = 0; k < count; k++) data[k] = buf.readFloatLE(k * 4);
  }
  return new ort.Tensor('float32', data, spec.dims);
}

function writeOutput(name, tensor, file) {
  if (tensor.type !== 'float32') fail(`output '${name}' has type ${tensor.type}, only float32 can be written`);
  const data = tensor.data;
  let out;
  if (LITTLE_ENDIAN) {
    out = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  } else {
    out = Buffer.alloc(data.length * 4);
    for (let k = 0; k < data.length; k++) out.writeFloatLE(data[k], k * 4);
  }
  const dir = path.dirname(path.resolve(file));
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, out);
  } catch (e) {
    fail(`cannot write output '${name}' to ${file}: ${e.message}`);
  }
}

function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(args.model)) fail(`model not found: ${args.model}`);

  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    fail(`cannot load onnxruntime-node (run scripts/setup.sh): ${e.message}`);
  }

  const rssBaseKb = Math.round(process.memoryUsage().rss / 1024);
  const opts = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: args.optLevel || 'all',
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
  };
  if (args.profile) {
    opts.enableProfiling = true;
    opts.profileFilePrefix = args.profile;
  }

  const t0 = nowMs();
  let session;
  try {
    session = await ort.InferenceSession.create(args.model, opts);
  } catch (e) {
    fail(`cannot create session for ${args.model}: ${e.message}`);
  }
  const sessionMs = nowMs() - t0;
  process.stdout.write(`session_ms=${sessionMs.toFixed(3)}\n`);

  const feeds = {};
  for (const spec of args.inputs) {
    if (!session.inputNames.includes(spec.name)) {
      fail(`model has no input '${spec.name}' (inputs: ${session.inputNames.join(', ')})`);
    }
    if (Object.prototype.hasOwnProperty.call(feeds, spec.name)) fail(`input '${spec.name}' given twice`);
    feeds[spec.name] = loadInput(ort, spec);
  }
  for (const n of session.inputNames) {
    if (!Object.prototype.hasOwnProperty.call(feeds, n)) fail(`missing --input for model input '${n}'`);
  }
  const fetchNames = [];
  for (const o of args.outputs) {
    if (!session.outputNames.includes(o.name)) {
      fail(`model has no output '${o.name}' (outputs: ${session.outputNames.join(', ')})`);
    }
    if (!fetchNames.includes(o.name)) fetchNames.push(o.name);
  }
  const writes = args.outputs.map((o) => ({ name: o.name, file: o.file }));
  if (args.extra) {
    const dir = args.outputs[0].file ? path.dirname(args.outputs[0].file) : '.';
    for (const n of session.outputNames) {
      if (fetchNames.includes(n)) continue;
      fetchNames.push(n);
      writes.push({ name: n, file: path.join(dir, n.replace(/[^A-Za-z0-9._-]/g, '_') + '.f32') });
    }
  }

  const run = async () => {
    try {
      return await session.run(feeds, fetchNames);
    } catch (e) {
      fail(`run failed: ${e.message}`);
    }
    return null;
  };

  const results = await run();

  if (args.repeat > 0) {
    const times = [];
    for (let k = 0; k < args.repeat; k++) {
      const s = nowMs();
      await run();
      times.push(nowMs() - s);
    }
    times.sort((x, y) => x - y);
    const mid = times.length >> 1;
    const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
    process.stdout.write(`median_ms=${median.toFixed(3)} min_ms=${times[0].toFixed(3)} threads=${args.threads}\n`);
    if (args.profile) printProfile(session, args.profile);
  }

  if (args.serve) {
    process.stdout.write('ready\n');
    const rl = require('readline').createInterface({ input: process.stdin });
    for await (const line of rl) { // eslint-disable-line no-unused-vars
      const s = nowMs();
      await run();
      process.stdout.write(`ms=${(nowMs() - s).toFixed(3)}\n`);
    }
  }

  if (!args.benchOnly) {
    for (const w of writes) writeOutput(w.name, results[w.name], w.file);
  }
  if (args.extra) {
    for (const w of writes) {
      const file = args.benchOnly ? '-' : w.file;
      process.stdout.write(`output ${w.name} dims=${results[w.name].dims.join(',')} file=${file}\n`);
    }
  }
  if (args.rss) {
    process.stdout.write(`rss_base_kb=${rssBaseKb} maxrss_kb=${process.resourceUsage().maxRSS}\n`);
  }
  if (typeof session.release === 'function') await session.release();
}

main().catch((e) => fail(e && e.message ? e.message : String(e)));
