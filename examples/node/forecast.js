#!/usr/bin/env node
'use strict';
// Streams forecasts from a seqinfer model.onnx with onnxruntime-node: the same CSV as `seqinfer predict`.
//
//   ONNXRUNTIME_NODE_INSTALL=skip npm ci        # once, in this folder (see README.md)
//   node forecast.js model.onnx < series.csv > forecasts.csv
//
// Input, in `seqinfer predict`'s series layout: one observation per line, `value` or `series,value`, with an
// optional header line (`series,value`). For each series, once `window` values have been seen, every new value
// yields one forecast of the next `horizon` values. Output: a header, then one line per forecast in input
// order: [series,] row, yhat_1..yhat_H, where row is the 1-based line number of the input line (header counted).
// Everything the program needs (window, horizon, input/output names) comes from the model file itself.

const fs = require('node:fs');
const readline = require('node:readline');
const ort = require('onnxruntime-node');
const { readOnnxMetadata } = require('./onnx-metadata.js');

const META_PREFIX = 'seqinfer.';
const MAX_BATCH = 512;            // windows per session.run: one call per chunk of input, at most this many
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

class InputError extends Error {}

/** The model contract from metadata_props: every number and list is JSON inside a string. */
function readContract(bytes, path) {
  const props = readOnnxMetadata(bytes);
  const get = (field) => {
    const raw = props[META_PREFIX + field];
    if (raw === undefined) throw new InputError(`${path}: not a seqinfer model (metadata key ${META_PREFIX}${field} missing)`);
    return raw;
  };
  const meta = {
    kind: get('kind'),
    seqinferVersion: get('seqinfer_version'),
    window: JSON.parse(get('window')),
    horizon: JSON.parse(get('horizon')),
    features: JSON.parse(get('features')),
    inputName: props[META_PREFIX + 'input_name'] ?? 'x',
    outputName: props[META_PREFIX + 'output_name'] ?? 'y',
  };
  if (meta.features !== 1) {
    throw new InputError(`${path}: this example reads one value per line; the model takes ${meta.features} features`);
  }
  return meta;
}

/** Like C's/Python's '%.9g': enough digits to round-trip a float32, no trailing zeros. */
function formatG9(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mantissa, expText] = v.toExponential(8).split('e');
  const exp = Number(expText);
  const strip = (s) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp >= -4 && exp < 9) return strip(v.toFixed(8 - exp));
  const sign = exp < 0 ? '-' : '+';
  return `${strip(mantissa)}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function splitFields(line) {
  // Plain CSV as seqinfer writes and reads it; a quoted field may hold no comma or quote of its own.
  return line.split(',').map((f) => {
    const t = f.trim();
    return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
  });
}

/** Turns CSV lines into forecast jobs {series, row, window}; keeps the last `window` values per series. */
class SeriesReader {
  constructor(window) {
    this.window = window;
    this.lineNo = 0;
    this.fieldCount = null;
    this.seriesCol = null;        // index, or null when the input has no series column
    this.valueCol = null;
    this.history = new Map();     // series id -> last `window` values (Float32Array used as a ring)
  }

  get hasSeries() { return this.seriesCol !== null; }

  layout(fields, isHeader) {
    this.fieldCount = fields.length;
    const names = isHeader ? fields.map((f) => f.toLowerCase()) : [];
    if (fields.length === 1) {
      this.valueCol = 0;
    } else if (fields.length === 2) {
      const v = names.indexOf('value');
      this.valueCol = v >= 0 ? v : 1;
      this.seriesCol = 1 - this.valueCol;
    } else {
      throw new InputError(`line ${this.lineNo}: expected 1 or 2 fields (value or series,value), got ${fields.length}`);
    }
  }

  /** Returns a job when this line completes a window, else null. Throws InputError on bad input. */
  push(rawLine) {
    this.lineNo += 1;
    const line = this.lineNo === 1 ? rawLine.replace(/^\uFEFF/, '') : rawLine;
    if (line.trim() === '') throw new InputError(`line ${this.lineNo}: empty line`);
    const fields = splitFields(line);
    if (this.fieldCount === null) {
      const isHeader = !NUMBER.test(fields[fields.length - 1]);
      this.layout(fields, isHeader);
      if (isHeader) return null;
    }
    if (fields.length !== this.fieldCount) {
      throw new InputError(`line ${this.lineNo}: expected ${this.fieldCount} fields, got ${fields.length}`);
    }
    const text = fields[this.valueCol];
    if (!NUMBER.test(text)) throw new InputError(`line ${this.lineNo}: value ${JSON.stringify(text)} is not a number`);
    const value = Number(text);
    if (!Number.isFinite(value)) throw new InputError(`line ${this.lineNo}: value ${text} is not finite`);
    const series = this.hasSeries ? fields[this.seriesCol] : '';
    let h = this.history.get(series);
    if (h === undefined) {
      h = { values: new Float32Array(this.window), count: 0 };
      this.history.set(series, h);
    }
    h.values[h.count % this.window] = value;
    h.count += 1;
    if (h.count < this.window) return null;
    const win = new Float32Array(this.window);             // oldest first
    for (let i = 0; i < this.window; i++) win[i] = h.values[(h.count + i) % this.window];
    return { series, row: this.lineNo, window: win };
  }
}

async function runBatch(session, meta, jobs) {
  const x = new Float32Array(jobs.length * meta.window);
  jobs.forEach((job, i) => x.set(job.window, i * meta.window));
  const feeds = { [meta.inputName]: new ort.Tensor('float32', x, [jobs.length, meta.window, 1]) };
  const y = (await session.run(feeds))[meta.outputName].data;   // float32 [batch, horizon]
  return y;
}

async function main() {
  const path = process.argv[2];
  if (!path || process.argv.length > 3) {
    process.stderr.write('usage: node forecast.js MODEL.onnx < series.csv > forecasts.csv\n');
    process.exit(2);
  }
  const bytes = fs.readFileSync(path);
  const meta = readContract(bytes, path);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: Number(process.env.ORT_THREADS ?? 1),
  });
  process.stderr.write(`forecast.js: ${meta.kind} model, window ${meta.window}, horizon ${meta.horizon}, ` +
    `seqinfer ${meta.seqinferVersion}, onnxruntime-node ${ort.env.versions?.node ?? ''}\n`);

  const reader = new SeriesReader(meta.window);
  const yhat = Array.from({ length: meta.horizon }, (_, i) => `yhat_${i + 1}`);
  const jobs = [];
  let headerWritten = false;
  let inputError = null;
  let paused = false;
  let closed = false;

  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  // Lines of one stdin chunk arrive together; they are parsed first and then run as one batch, so a fast
  // file gets large batches and a slow trickle gets each forecast as soon as its line arrives.
  const drain = async () => {
    while (jobs.length > 0) {
      const batch = jobs.splice(0, MAX_BATCH);
      const y = await runBatch(session, meta, batch);
      if (!headerWritten) {
        process.stdout.write([...(reader.hasSeries ? ['series'] : []), 'row', ...yhat].join(',') + '\n');
        headerWritten = true;
      }
      const out = batch.map((job, i) => {
        const f = Array.from(y.subarray(i * meta.horizon, (i + 1) * meta.horizon), formatG9);
        return [...(reader.hasSeries ? [job.series] : []), job.row, ...f].join(',');
      });
      process.stdout.write(out.join('\n') + '\n');
      if (paused && !closed && jobs.length < MAX_BATCH) {
        paused = false;
        input.resume();
      }
    }
  };
  let draining = Promise.resolve();
  let scheduled = false;
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      draining = draining.then(drain);
    });
  };

  input.on('line', (line) => {
    if (inputError) return;
    try {
      const job = reader.push(line);
      if (job) jobs.push(job);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      inputError = e;              // forecasts of every valid line before it are still written
      input.close();
    }
    if (jobs.length >= 8 * MAX_BATCH && !paused) {      // keep memory flat when the model is the bottleneck
      paused = true;
      input.pause();
    }
    schedule();
  });
  await new Promise((resolve) => input.on('close', () => { closed = true; resolve(); }));
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  await tick();
  await draining;
  await drain();
  if (!headerWritten) {
    process.stdout.write([...(reader.hasSeries ? ['series'] : []), 'row', ...yhat].join(',') + '\n');
  }
  if (inputError) {
    process.stderr.write(`forecast.js: error: ${inputError.message}\n`);
    process.exitCode = 2;
  }
}

main().catch((e) => {
  process.stderr.write(`forecast.js: error: ${e instanceof InputError ? e.message : e.stack}\n`);
  process.exit(e instanceof InputError ? 2 : 1);
});
