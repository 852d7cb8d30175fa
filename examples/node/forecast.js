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
// What Python's float() accepts, as `seqinfer predict` parses: 1, -1.5e3, .5, 5., 1_000, inf, nan (any case).
const PY_FLOAT = /^[+-]?((\d(_?\d)*(\.(\d(_?\d)*)?)?|\.\d(_?\d)*)([eE][+-]?\d(_?\d)*)?|inf(inity)?|nan)$/i;

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

/** Exactly Python's and C's '%.9g' (9 significant digits round-trip a float32; no trailing zeros). */
function formatG9(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mantissa, expText] = Math.abs(v).toExponential(8).split('e');
  let digits = mantissa.replace('.', '');
  const exp = Number(expText);
  // JS rounds an exact tie (say 4.900390625) up, C and Python to even: look at the exact decimal expansion.
  const exact = Math.abs(v).toPrecision(100).split('e')[0].replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  if (exact.length === 10 && exact[9] === '5' && Number(exact[8]) % 2 === 0) digits = exact.slice(0, 9);
  digits = digits.replace(/0+$/, '') || '0';
  let text;
  if (exp >= -4 && exp < 9) {
    text = exp >= 0
      ? digits.slice(0, exp + 1).padEnd(exp + 1, '0') + (digits.length > exp + 1 ? '.' + digits.slice(exp + 1) : '')
      : '0.' + '0'.repeat(-exp - 1) + digits;
  } else {
    text = digits[0] + (digits.length > 1 ? '.' + digits.slice(1) : '') +
      'e' + (exp < 0 ? '-' : '+') + String(Math.abs(exp)).padStart(2, '0');
  }
  return v < 0 ? '-' + text : text;
}

/** A field as Python's float() reads it (surrounding whitespace allowed), or null when it is not a number. */
function parseNumber(field) {
  const t = field.trim();
  if (!PY_FLOAT.test(t)) return null;
  const u = t.replace(/_/g, '').toLowerCase();
  if (u.endsWith('nan')) return NaN;
  if (u.endsWith('inf') || u.endsWith('infinity')) return u.startsWith('-') ? -Infinity : Infinity;
  return Number(u);
}

/** One CSV line into fields (RFC 4180 quotes; no trimming), as Python's csv module reads it. */
function splitFields(line, lineNo) {
  const fields = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let f = '';
      for (i += 1; ; i += 1) {
        if (i >= line.length) throw new InputError(`line ${lineNo}: bad CSV quoting (unterminated quote)`);
        if (line[i] === '"' && line[i + 1] === '"') { f += '"'; i += 1; } else if (line[i] === '"') break; else f += line[i];
      }
      i += 1;
      if (i < line.length && line[i] !== ',') throw new InputError(`line ${lineNo}: bad CSV quoting`);
      fields.push(f);
    } else {
      const end = line.indexOf(',', i) < 0 ? line.length : line.indexOf(',', i);
      fields.push(line.slice(i, end));
      i = end;
    }
    if (i >= line.length) return fields;
    i += 1;                                  // the comma
    if (i === line.length) { fields.push(''); return fields; }
  }
}

/** A passed-through field, CSV-quoted only when it must be (as seqinfer writes it). */
function quote(field) {
  return /[,"\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

/**
 * Turns CSV lines into forecast jobs {series, row, window}; keeps the last `window` values per series.
 * Columns are decided from line 1 exactly as `seqinfer predict` does by default: line 1 is a header when any
 * field is not a number; the value is the column named `value` (else the only column, else the second of
 * two); the series id is the column named `series`, else the first of two when no `value` column is named.
 */
class SeriesReader {
  constructor(window) {
    this.window = window;
    this.lineNo = 0;
    this.header = null;
    this.fieldCount = null;
    this.seriesCol = null;        // index, or null when the input has no series column
    this.valueCol = null;
    this.history = new Map();     // series id -> last `window` values (Float32Array used as a ring)
  }

  get hasSeries() { return this.seriesCol !== null; }

  layout(fields) {
    const n = fields.length;
    this.fieldCount = n;
    this.header = fields.every((f) => parseNumber(f) !== null) ? null : fields;
    const named = this.header ? this.header.indexOf('value') : -1;
    if (named >= 0) {
      this.valueCol = named;
    } else if (n === 1) {
      this.valueCol = 0;
    } else if (n === 2) {
      [this.seriesCol, this.valueCol] = [0, 1];
    } else {
      throw new InputError(`line ${this.lineNo}: ${n} fields per row: expected \`value\` or \`series,value\` ` +
        '(this example reads the series layout only; name the value column `value` in a header)');
    }
    const series = this.header ? this.header.indexOf('series') : -1;
    if (this.seriesCol === null && series >= 0 && series !== this.valueCol) this.seriesCol = series;
  }

  /** Returns a job when this line completes a window, else null. Throws InputError on bad input. */
  push(rawLine) {
    this.lineNo += 1;
    const line = this.lineNo === 1 ? rawLine.replace(/^\uFEFF/, '') : rawLine;
    if (line.trim() === '') throw new InputError(`line ${this.lineNo}: empty line`);
    const fields = splitFields(line, this.lineNo);
    if (this.fieldCount === null) {
      this.layout(fields);
      if (this.header) return null;
    }
    if (this.header && fields.length === this.header.length && fields.every((f, i) => f === this.header[i])) {
      throw new InputError(`line ${this.lineNo}: the header line again, in the middle of the stream`);
    }
    if (fields.length !== this.fieldCount) {
      throw new InputError(`line ${this.lineNo}: ${fields.length} field(s), expected ${this.fieldCount} like line 1`);
    }
    const text = fields[this.valueCol];
    const value = parseNumber(text);
    if (value === null) throw new InputError(`line ${this.lineNo}: ${JSON.stringify(text)} is not a number`);
    if (!Number.isFinite(value)) throw new InputError(`line ${this.lineNo}: ${JSON.stringify(text.trim())} is not a finite number`);
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
      if (reader.lineNo === 0 && !inputError) inputError = new InputError('empty input: no lines to read');
  if (!headerWritten && reader.lineNo > 0) {
        process.stdout.write([...(reader.hasSeries ? ['series'] : []), 'row', ...yhat].join(',') + '\n');
        headerWritten = true;
      }
      const out = batch.map((job, i) => {
        const f = Array.from(y.subarray(i * meta.horizon, (i + 1) * meta.horizon), formatG9);
        return [...(reader.hasSeries ? [quote(job.series)] : []), job.row, ...f].join(',');
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
  if (reader.lineNo === 0 && !inputError) inputError = new InputError('empty input: no lines to read');
  if (!headerWritten && reader.lineNo > 0) {
    process.stdout.write([...(reader.hasSeries ? ['series'] : []), 'row', ...yhat].join(',') + '\n');
  }
  if (inputError) {
    process.stderr.write(`forecast.js: error: ${inputError.message}\n`);
    process.exitCode = 2;
  }
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`forecast.js: error: ${e instanceof InputError ? e.message : e.stack}\n`);
    process.exit(e instanceof InputError ? 2 : 1);
  });
}

module.exports = { formatG9, parseNumber, splitFields, SeriesReader };
