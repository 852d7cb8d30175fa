#!/usr/bin/env node
'use strict';
// Streams forecasts from a seqinfer model.onnx with onnxruntime-node: the same CSV as `seqinfer predict`.
//
//   ONNXRUNTIME_NODE_INSTALL=skip npm ci        # once, in this folder (see README.md)
//   node forecast.js model.onnx < series.csv > forecasts.csv
//   node forecast.js stateful/model.onnx --warmup 0 < series.csv    # a stateful model: show the warm-up too
//
// Input: one observation per line, with or without a header: `value`, `series,value`, `time,value` or
// `series,time,value`, columns in any order. Header and columns are decided from the first 50 lines by
// `seqinfer predict`'s rules (see `decide` and docs/embedding.md); a file those rules cannot settle without
// options, or that predict would read as whole windows, stops with an error that points at `seqinfer predict`.
// For each series, once `window` values have been seen, every new value yields one forecast of the next
// `horizon` values. Output: a header, then one line per forecast in input order: [series,] [time columns,] row,
// yhat_1..yhat_H, where row is the 1-based line number of the input line (header counted).
// A stateful model (seqinfer.stateful) has no window: every row is one recurrent step of its series, whose
// state is carried from call to call (stateful.js); a forecast per row once the series is past its warm-up
// (its first seqinfer.warmup rows, or --warmup N), as `seqinfer predict` does.
// Everything the program needs (window or state, horizon, tensor names) comes from the model file itself.

const fs = require('node:fs');
const readline = require('node:readline');
const ort = require('onnxruntime-node');
const { readOnnxMetadata } = require('./onnx-metadata.js');
const { StateStore, ARRAYS, SEQ_LENS, NEXT_SUFFIX } = require('./stateful.js');

const META_PREFIX = 'seqinfer.';
const MAX_BATCH = 512;            // windows per session.run: one call per chunk of input, at most this many
const MAX_STEP_BATCH = 4096;      // a stateful model's rows per session.run (the state is carried across calls)
// What `seqinfer predict` reads as a number (Python's float() on ASCII without `_`): 1, -1.5e3, .5, 5., inf,
// nan (any case).
const PY_FLOAT = /^[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|inf(inity)?|nan)$/i;

// --- seqinfer's CSV rules (its infer/columns.py and infer/timecol.py), for the shapes this example reads ----
const SAMPLE_LINES = 50;          // lines, header included, that header and columns are decided from
const MISSING = new Set(['', 'na', 'n/a', 'nan', '-nan', '+nan', 'null', 'none', '#n/a', 'nat', 'missing',
  '\\n', '.', '-', '--', '?', '<na>', '#na', '#n/a n/a', '1.#ind', '-1.#ind', '1.#qnan', '-1.#qnan']);
const F32_OVERFLOW = 3.4028235677973366e38;   // the smallest magnitude that rounds to inf in float32
const SERIES_NAMES = new Set(['series', 'id', 'series_id', 'unique_id', 'item_id', 'ts_id', 'key']);
const VALUE_NAMES = ['value', 'y', 'target'];
const TIME_NAMES = new Set(['date', 'time', 'timestamp', 'datetime', 'ds', 'dt', 'ts', 't', 'year', 'yr',
  'quarter', 'month', 'week', 'day', 'hour', 'minute', 'period', 'epoch', 'time_idx', 'date_time', 'time_stamp',
  'obs_date']);
const INDEX_NAMES = new Set(['', 'index', 'unnamed: 0', 'unnamed:_0']);   // pandas' index: a time if numbers
const FLAGS = new Set(['true', 'false', 't', 'f', 'yes', 'no']);          // TRUE/FALSE: never a series id
// 1,234.5  12%  $5  and decimal commas: 0,5  1.234,5  1 234,5 (a space or NBSP for thousands)
const FORMATTED =
  /^[-+(]?[$€£¥]?\s*[-+]?((\d{1,3}([, \u00a0\u202f]\d{3})+|\d+)(\.\d*)?|(\d{1,3}([. \u00a0\u202f]\d{3})+|\d+),\d+)\s*[%)€]?$/;
// A spreadsheet's summary row (Total, Grand total, Sum, Average) where a time would be: not held against dates.
const SUMMARY = /^((grand\s+|sub)?totals?:?|sum:?|average:?|avg:?|mean:?)$/i;
// A month's English name (a date such as 01-Mar-2024 or Mar 2024; Excel's Mar-24 is not read).
const MON = String.raw`(?:january|february|march|april|may|june|july|august|september|october|november|december` +
  String.raw`|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?`;
// A clock time or a date's shape in every cell (03/01/24 1:00 PM, Mar-24, 01-MAR-24): a time in a form not
// read below, never a series id.
const TIMEISH = new RegExp(String.raw`\d{1,2}:\d{2}|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}|\b${MON}[ -]'?\d{2}\b|\b\d{1,2}[ -]${MON}\b`, 'i');
const TIME_SUFFIXES = ['_date', '_time', '_timestamp', '_at', '_ts'];
const TIME_PREFIXES = ['date_', 'time_', 'timestamp_'];
// zones: Z, +02:00, +0200, +00, ` +0000`, ` UTC`
const ISO = /^(\d{4})-(\d\d)(?:-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?)?)?(?: ?(Z|UTC|GMT|[+-]\d\d(?::?\d\d)?))?$/;
const CLOCK = String.raw`(?:[ T]\d{1,2}:\d\d(?::\d\d)?(?: ?[AaPp][Mm])?)?`;   // 13:00, 1:00 PM
const WEEKDAY = String.raw`(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,? )?`;   // RFC 2822: Fri, 01 Mar 2024 13:00
const RFC_ZONE = String.raw`(?: (?:[+-]\d{4}|GMT|UTC|UT|Z))?`;
const DATES = [
  /^\d{8}$/,                                                          // 19580329 (checked in dates())
  /^\d{4}[- ]?[Qq][1-4]$/,                                            // 1959Q1
  /^\d{4}M\d\d$/,                                                     // 2020M01
  /^(1[89]\d\d|2[01]\d\d)(0[1-9]|1[0-2])$/,                          // 201001
  /^(0?[1-9]|1[0-2])[./-](1[89]\d\d|2[01]\d\d)$/,                     // 01.2010, 1/2010
  /^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}:\d\d(?::\d\d)?(?: ?[AaPp][Mm])?)?$/,   // y/m/d; 1:00 PM
  /^\d{1,2}[/.-]\d{1,2}[/.-]\d{4}(?:[ T]\d{1,2}:\d\d(?::\d\d)?(?: ?[AaPp][Mm])?)?$/,  // d/m/y, m/d/y
  // a month's name and a 4-digit year: 01-Mar-2024, 1 March 2024 13:00, Mar 1, 2024, Mar 2024, 2024 MAR
  new RegExp(String.raw`^(?:${WEEKDAY}\d{1,2}[ -]${MON}[ -]\d{4}${CLOCK}${RFC_ZONE}|${MON} \d{1,2},? \d{4}${CLOCK}` +
    String.raw`|${MON}[ -]\d{4}|\d{4}[ -]${MON}|\d{1,2}${MON}\d{4}(?::\d{1,2}:\d\d(?::\d\d)?)?)$`, 'i'),
];
const PREDICT_HINT = 'use `seqinfer predict` with --value-col, --series-col, --time-col or --keep';

class InputError extends Error {}

/** The model contract from metadata_props: every number and list is JSON inside a string. */
function readContract(bytes, path) {
  let props;
  try {
    props = readOnnxMetadata(bytes);
  } catch (e) {                    // the protobuf reader's own error: not an ONNX file
    throw new InputError(`${path}: not an ONNX model (${e.message})`);
  }
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
    ioDtype: props[META_PREFIX + 'io_dtype'] ?? 'float32',     // float64 where float32 cannot hold the data
    // A stateful model: the state tensors a new series starts from, and the rows whose forecasts are held back.
    stateful: JSON.parse(props[META_PREFIX + 'stateful'] ?? 'false'),
    state: JSON.parse(props[META_PREFIX + 'state'] ?? '{}'),
    warmup: JSON.parse(props[META_PREFIX + 'warmup'] ?? '0'),
  };
  if (meta.stateful) {
    for (const [name, s] of Object.entries(meta.state)) {
      if (!Array.isArray(s.shape) || !(s.dtype in ARRAYS) || !['zeros', 'nan'].includes(s.init)) {
        throw new InputError(`${path}: metadata ${META_PREFIX}state: ${name} is ${JSON.stringify(s)}`);
      }
      s.size = s.shape.reduce((a, b) => a * b, 1);         // values per series
    }
    if (Object.keys(meta.state).length === 0) {
      throw new InputError(`${path}: metadata ${META_PREFIX}stateful is true, but ${META_PREFIX}state ` +
        'names no state tensor');
    }
  }
  if (meta.features !== 1) {
    throw new InputError(`${path}: this example reads one value per line; the model takes ${meta.features} ` +
      'features: use `seqinfer predict --value-col ...`');
  }
  return meta;
}

/** Exactly Python's and C's '%.<p>g' (9 significant digits round-trip a float32, 17 a float64). */
function formatG(v, p) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mantissa, expText] = Math.abs(v).toExponential(p - 1).split('e');
  let digits = mantissa.replace('.', '');
  const exp = Number(expText);
  // JS rounds an exact tie (say 4.900390625) up, C and Python to even: look at the exact decimal expansion.
  const exact = Math.abs(v).toPrecision(100).split('e')[0].replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  if (exact.length === p + 1 && exact[p] === '5' && Number(exact[p - 1]) % 2 === 0) digits = exact.slice(0, p);
  digits = digits.replace(/0+$/, '') || '0';
  let text;
  if (exp >= -4 && exp < p) {
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
  const u = t.toLowerCase();
  if (u.endsWith('nan')) return NaN;
  if (u.endsWith('inf') || u.endsWith('infinity')) return u.startsWith('-') ? -Infinity : Infinity;
  return Number(u);
}

/** One CSV line into fields (RFC 4180 quotes; no trimming), as Python's csv module reads it. */
function splitFields(line, lineNo) {
  if (line.trim() === '') throw new InputError(`line ${lineNo}: empty line`);
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

// --- what a cell is ------------------------------------------------------------------------------------------
const isMissing = (field) => MISSING.has(field.trim().toLowerCase());
/** float() reads it and it is not a missing-value marker (nan). */
const isNumber = (field) => !isMissing(field) && parseNumber(field) !== null;

/** Most cells that are not missing are numbers (a stray bad one is reported on its own line). */
function numeric(cells) {
  const vals = cells.filter((c) => !isMissing(c));
  return vals.length > 0 && 2 * vals.filter(isNumber).length > vals.length;
}

function validDate(y, m, d, hour, minute, second) {
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return m >= 1 && m <= 12 && Number(d ?? 1) >= 1 && Number(d ?? 1) <= days[m - 1] &&
    Number(hour ?? 0) < 24 && Number(minute ?? 0) < 60 && Number(second ?? 0) < 60;
}

/** Every value is a date written the same way (ISO, YYYYMMDD, 1959Q1, 2020M01, y/m/d, d/m/y, m/d/y). */
function dates(vals) {
  const iso = (v) => {
    const m = ISO.exec(v);               // a zone needs a clock time (2020-01-01Z is not a date)
    return m !== null && validDate(Number(m[1]), Number(m[2]), m[3], m[4], m[5], m[6]) && !(m[7] && !m[4]);
  };
  const ymd = (v) => DATES[0].test(v) && Number(v.slice(0, 4)) >= 1000 && Number(v.slice(0, 4)) <= 2999 &&
    validDate(Number(v.slice(0, 4)), Number(v.slice(4, 6)), v.slice(6));
  return vals.every(iso) || vals.every(ymd) || DATES.slice(1).some((rx) => vals.every((v) => rx.test(v)));
}

/** A column's sample: ['empty' | 'number' | 'text', whether its values are dates (YYYYMMDD numbers too)]. */
function kind(cells) {
  const vals = cells.filter((c) => !isMissing(c));
  if (vals.length === 0) return ['empty', false];
  if (numeric(vals)) return ['number', dates(vals.filter(isNumber))];
  const notSummary = vals.filter((v) => !SUMMARY.test(v.trim()));
  return ['text', dates(notSummary.length ? notSummary : vals)];
}

function isTimeName(name) {
  const n = name.trim().toLowerCase().replace(/[\s-]+/g, '_');
  return TIME_NAMES.has(n) || TIME_SUFFIXES.some((s) => n.endsWith(s)) || TIME_PREFIXES.some((p) => n.startsWith(p));
}

/** Integers rising strictly from row to row, within each series (1700, 1701, ...). */
function increasingInts(cells, groups) {
  if (!cells.every((c) => /^\s*[+-]?\d+\s*$/.test(c))) return false;
  const last = new Map();
  let steps = 0;
  for (let i = 0; i < cells.length; i++) {
    const key = groups ? groups[i] : '';
    const v = Number(cells[i]);
    if (last.has(key)) {
      if (v <= last.get(key)) return false;
      steps += 1;
    }
    last.set(key, v);
  }
  return steps > 0;
}

// --- which column is what ------------------------------------------------------------------------------------
/**
 * Line 1 is a header when one of its fields does not fit its column below: not a number over numbers, or not
 * a date over dates; with no line below, when none of its fields is a number. So `a,5.0` over `b,6.0` is data,
 * and so is a first line `0`.
 */
function looksLikeHeader(first, below) {
  if (below.length === 0) return !first.some(isNumber) && !first.every(isMissing);
  const keys = below.map((r) => r[0]);           // pandas' unnamed index over its row keys: `,0` is a header
  if (first.length > 1 && first[0] === '' && !keys.some(isMissing) && (numeric(keys) || dates(keys))) {
    return true;
  }
  return first.some((f, j) => {
    const cells = below.map((r) => r[j]).filter((c) => !isMissing(c));
    if (isMissing(f) || cells.length === 0) return false;
    return numeric(cells) ? !isNumber(f) : dates(cells) && !dates([f, ...cells]);
  });
}

/**
 * Header and column roles from the first lines (arrays of fields, line 1 first), by `seqinfer predict`'s
 * rules without options: {nfields, header, value, series, time, passed, names}; columns are 0-based.
 */
function decide(lines, window) {
  const first = lines[0].map((f) => f.trim());
  const n = first.length;
  const counts = lines.slice(1).map((r) => r.length);
  const tally = (c) => counts.filter((x) => x === c).length;
  const most = counts.reduce((best, c) => (tally(c) > tally(best) ? c : best), counts.length ? counts[0] : n);
  const said = lines[0].join(',').trim();
  if (said.toLowerCase().startsWith('sep=') && said.length === 5) {   // a spreadsheet's `sep=,` hint
    throw new InputError(`line 1: '${said}' names the separator, it is not the header: remove it`);
  }
  if (2 * tally(most) >= lines.length && ((most > n && (n === 1 || first[0].startsWith('#'))) || most < n)) {
    throw new InputError('line 1: not as many fields as the lines below: comment or title lines above the header?');
  }
  if (lines.length > 1 && first[0].startsWith('#') && lines[1][0].trim().startsWith('#')) {
    throw new InputError("lines 1 and 2 start with '#': annotation or comment lines above the header?");
  }
  const rest = lines.slice(1).filter((r) => r.length === n).map((r) => r.map((f) => f.trim()));
  const header = looksLikeHeader(first, rest) ? first : null;
  const data = header ? rest : [first, ...rest];
  const cells = first.map((_, j) => data.map((r) => r[j]));
  const kinds = cells.map(kind);
  const name = first.map((f) => (header ? f.toLowerCase() : null));
  const cols = (js) => js.map((j) => j + 1).join(', ');
  const error = (what) => new InputError(`line 1: ${what}: ${PREDICT_HINT}`);
  const all = [...first.keys()];
  for (const twice of new Set((header ?? []).filter((h, i) => h && header.indexOf(h) !== i))) {
    const low = twice.toLowerCase();
    if (VALUE_NAMES.includes(low) || SERIES_NAMES.has(low) || isTimeName(twice)) {
      throw error(`the header names columns ${cols(all.filter((j) => first[j] === twice))} alike`);
    }
  }

  // A time column: its header says time, or its values are dates. A series id: text, or a header that says
  // id. A single column is always the value.
  // The index comes first: `date,` names no index.
  const pandasIndex = (j) => Boolean(header) &&
    header.slice(0, j + 1).every((h) => INDEX_NAMES.has(h.trim().toLowerCase())) &&
    (kinds[j][0] === 'number' || Boolean(kinds[j][1]));
  const textId = (j) => {
    const vals = cells[j].filter((c) => !isMissing(c)).map((c) => c.trim());
    const flag = vals.length > 0 && vals.every((v) => FLAGS.has(v.toLowerCase()));
    const blank = cells[j].some((c) => c.trim() === '');          // a note column, not ids
    return kinds[j][0] === 'text' && !flag && !FORMATTED.test(vals.find((v) => !isNumber(v)) ?? '') && !blank;
  };
  let time = all.filter((j) => n > 1 && ((header && isTimeName(header[j])) || kinds[j][1] || pandasIndex(j)));
  let idNamed = all.filter((j) => SERIES_NAMES.has(name[j]) || (name[j] ?? '').endsWith('_id'));
  // `id` counting 1, 2, 3 beside a time new on every row: a row number (as a logger's RECORD), not an id
  const rowNumber = (j) => {
    if (kinds[j][0] !== 'number' || cells[j].length < 3 || !increasingInts(cells[j], null)) return false;
    const times = time.filter((t) => t !== j);
    if (!times.length) throw error(`column ${cols([j])} counts up row by row: a row number, or series ids?`);
    return times.every((t) => new Set(cells[t]).size === cells[t].length);
  };
  const counters = idNamed.filter((j) => n > 1 && !time.includes(j) && rowNumber(j));
  idNamed = idNamed.filter((j) => !counters.includes(j));
  // 03/01/24 1:00 PM, Mar-24, 01-MAR-24: a time, never a series id
  const clock = all.filter((j) => n > 1 && !time.includes(j) && !idNamed.includes(j) && kinds[j][0] === 'text' &&
    cells[j].filter((c) => !isMissing(c)).every((c) => TIMEISH.test(c)));
  if (clock.length) throw error(`column ${cols(clock.slice(0, 1))} looks like a time in a form this example does not read`);
  const ids = all.filter((j) => n > 1 && !time.includes(j) && (textId(j) || idNamed.includes(j)));
  if (ids.length > 1) throw error(`columns ${cols(ids)} could each be the series id`);
  const series = ids.length ? ids[0] : null;
  const free = all.filter((j) => j !== series && !time.includes(j));
  let numbers = free.filter((j) => kinds[j][0] === 'number' && !counters.includes(j));
  if (numbers.length === 0) numbers = free.filter((j) => kinds[j][0] === 'empty');
  if (window > 1 && numbers.length === window) {
    throw error(`columns ${cols(numbers)} make one window per row (predict's windows layout), which this ` +
      'example does not read');
  }
  const named = VALUE_NAMES.flatMap((v) => numbers.filter((j) => name[j] === v));
  const weak = [...counters, ...numbers.filter((j) => kinds[j][0] === 'number' &&
    increasingInts(cells[j], series === null ? null : cells[series]))];
  time = [...time, ...counters].sort((a, b) => a - b);
  let value;
  if (named.length) {
    value = named[0];
  } else if (numbers.length === 1) {
    value = numbers[0];
  } else if (weak.length && numbers.filter((j) => !weak.includes(j)).length === 1) {   // 1700, 1701 ...: a time
    value = numbers.find((j) => !weak.includes(j));
    time = [...new Set([...time, ...weak])].sort((a, b) => a - b);
  } else if (numbers.length) {
    throw error(`columns ${cols(numbers)} are all numbers and none is named value`);
  } else {
    throw error('no column of numbers to forecast');
  }
  const left = free.filter((j) => j !== value && !time.includes(j) && kinds[j][0] !== 'empty');
  if (left.length && !named.length) throw error(`columns ${cols(left)} are neither value, series id nor time`);
  let dated = time.length > 1 ? time.filter((j) => !pandasIndex(j)) : time;
  const strong = dated.filter((j) => !weak.includes(j));
  if (dated.length > 1 && strong.length === 1) dated = strong;   // a row counter beside dates
  if (series === null && dated.length === 1) {   // the time repeats: series interleaved, not one series
    const stamps = cells[dated[0]].filter((c) => !isMissing(c));
    if (stamps.length >= 4 && 3 * (stamps.length - new Set(stamps).size) >= stamps.length &&
        left.some((j) => 2 * new Set(cells[j]).size <= cells[j].length)) {
      throw error(`column ${cols(dated)} repeats as if several series were interleaved`);
    }
  }
  const passed = [...(series === null ? [] : [series]), ...time];
  const names = [...(series === null ? [] : ['series']), ...time.map((j) => (header ? header[j] : `col${j + 1}`))];
  return { nfields: n, header, value, series, time, passed, names };
}

/** The line's value, or an InputError like predict's default (--fill stop): missing, text, beyond float32. */
function readValue(fields, cols, lineNo) {
  const { header } = cols;
  if (header && fields.length === header.length && fields.every((f, i) => f.trim() === header[i]) &&
      !header.every(isNumber)) {
    throw new InputError(`line ${lineNo}: the header line again, in the middle of the stream`);
  }
  if (fields.length !== cols.nfields) {
    throw new InputError(`line ${lineNo}: ${fields.length} field(s), expected ${cols.nfields} like line 1`);
  }
  for (const j of cols.time) {   // a spreadsheet's totals row: its numbers are not a value
    const label = fields[j].trim();
    if (SUMMARY.test(label)) throw new InputError(`line ${lineNo}: ${JSON.stringify(label)} in the time column: a totals row? remove it`);
  }
  const text = fields[cols.value];
  if (isMissing(text)) {
    throw new InputError(`line ${lineNo}: missing value (${JSON.stringify(text.trim())}); ` +
      '`seqinfer predict --fill previous` goes on past it');
  }
  const value = parseNumber(text);
  if (value === null) throw new InputError(`line ${lineNo}: ${JSON.stringify(text)} is not a number`);
  if (!(Math.abs(value) < F32_OVERFLOW)) {
    throw new InputError(`line ${lineNo}: ${JSON.stringify(text.trim())} is not a finite float32 number`);
  }
  return value;
}

/**
 * Turns CSV lines into forecast jobs {passed, row, window}; keeps the last `window` values per series. The
 * first SAMPLE_LINES lines are held until the columns are decided (`cols`), then every line streams through.
 */
class SeriesReader {
  constructor(window) {
    this.window = window;
    this.lineNo = 0;
    this.head = [];               // [lineNo, line] until the columns are decided
    this.cols = null;
    this.history = new Map();     // series id -> last `window` values (a Float64Array used as a ring)
  }

  /** Reads one line; emit(job) gets each forecast job, in order. Throws InputError on bad input. */
  push(rawLine, emit) {
    this.lineNo += 1;
    const line = this.lineNo === 1 ? rawLine.replace(/^\uFEFF/, '') : rawLine;
    if (this.cols !== null) {
      this.row(line, this.lineNo, emit);
      return;
    }
    this.head.push([this.lineNo, line]);
    if (this.head.length === SAMPLE_LINES) this.start(emit);
  }

  /** At the end of the input: decides on the lines read when there were fewer than SAMPLE_LINES. */
  finish(emit) {
    if (this.lineNo === 0) throw new InputError('empty input: no lines to read');
    if (this.cols === null) this.start(emit);
  }

  start(emit) {
    const sample = [splitFields(this.head[0][1], 1)];
    for (const [lineNo, line] of this.head.slice(1)) {
      try {
        sample.push(splitFields(line, lineNo));
      } catch (e) {                // a bad line is reported when its turn comes
        if (!(e instanceof InputError)) throw e;
      }
    }
    this.cols = decide(sample, this.window);
    const head = this.head;
    this.head = [];
    for (const [lineNo, line] of this.cols.header ? head.slice(1) : head) this.row(line, lineNo, emit);
  }

  row(line, lineNo, emit) {
    const fields = splitFields(line, lineNo);
    const value = readValue(fields, this.cols, lineNo);
    const key = this.cols.series === null ? '' : fields[this.cols.series];
    let h = this.history.get(key);
    if (h === undefined) {
      h = { values: new Float64Array(this.window), count: 0 };
      this.history.set(key, h);
    }
    h.values[h.count % this.window] = value;
    h.count += 1;
    if (h.count < this.window) return;
    const win = new Float64Array(this.window);             // oldest first
    for (let i = 0; i < this.window; i++) win[i] = h.values[(h.count + i) % this.window];
    emit({ passed: this.cols.passed.map((j) => fields[j]), row: lineNo, key, window: win });
  }
}

/** The graph has what the metadata promises: x, every state tensor and seq_lens in; y and <name>_next out. */
function checkStepSignature(session, meta, path) {
  const names = Object.keys(meta.state);
  const want = [[session.inputNames, [meta.inputName, ...names, SEQ_LENS]],
    [session.outputNames, [meta.outputName, ...names.map((n) => n + NEXT_SUFFIX)]]];
  const missing = want.flatMap(([have, need]) => need.filter((n) => !have.includes(n)));
  if (missing.length) throw new InputError(`${path}: a stateful model without tensor(s) ${missing.join(', ')}`);
}

/** A stateful model's jobs, one row each: forecasts for those past their series' warm-up, with the jobs. */
async function runSteps(session, store, jobs, warmup) {
  const { y, seen } = await store.run(session, jobs.map((job) => ({ key: job.key, value: job.window[0] })));
  const h = store.meta.horizon;
  const shown = jobs.map((_, i) => i).filter((i) => seen[i] >= warmup);    // the warm-up builds the state only
  return { jobs: shown.map((i) => jobs[i]), y: shown.map((i) => y.subarray(i * h, (i + 1) * h)) };
}

async function runBatch(session, meta, jobs) {
  const x = meta.ioDtype === 'float64' ? new Float64Array(jobs.length * meta.window)
    : new Float32Array(jobs.length * meta.window);
  jobs.forEach((job, i) => x.set(job.window, i * meta.window));   // rounds to float32, as predict does
  const feeds = { [meta.inputName]: new ort.Tensor(meta.ioDtype, x, [jobs.length, meta.window, 1]) };
  const y = (await session.run(feeds))[meta.outputName].data;   // [batch, horizon], in the model's dtype
  return y;
}

async function main() {
  const [path, ...opts] = process.argv.slice(2);
  const warmupArg = opts.length === 2 && opts[0] === '--warmup' && /^\d+$/.test(opts[1]) ? Number(opts[1]) : null;
  if (!path || (opts.length && warmupArg === null)) {
    process.stderr.write('usage: node forecast.js MODEL.onnx (or its folder) [--warmup N] < series.csv > forecasts.csv\n');
    process.exit(2);
  }
  // The .onnx file, or a folder holding model.onnx (as `seqinfer export` writes it).
  const file = fs.existsSync(path) && fs.statSync(path).isDirectory() ? `${path}/model.onnx` : path;
  if (!fs.existsSync(file)) {
    throw new InputError(`${file}: no such model file (give a .onnx file or a folder holding model.onnx)`);
  }
  const bytes = fs.readFileSync(file);
  const meta = readContract(bytes, file);
  if (warmupArg !== null && !meta.stateful) {
    throw new InputError('--warmup: a stateful model\'s option; this one is windowed (seqinfer.stateful)');
  }
  const warmup = warmupArg ?? meta.warmup;         // rows per series whose forecasts are held back
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: Number(process.env.ORT_THREADS ?? 1),
  });
  if (meta.stateful) checkStepSignature(session, meta, path);
  const what = meta.stateful ? `stateful ${meta.kind} model, state ${Object.keys(meta.state).join('/')}, ` +
    `warm-up ${warmup}` : `${meta.kind} model, window ${meta.window}`;
  process.stderr.write(`forecast.js: ${what}, horizon ${meta.horizon}, seqinfer ${meta.seqinferVersion}, ` +
    `onnxruntime-node ${ort.env.versions?.node ?? ''}\n`);

  // A stateful model reads one row at a time (a window of 1, as predict does) and carries each series' state.
  const reader = new SeriesReader(meta.stateful ? 1 : meta.window);
  const store = meta.stateful ? new StateStore(meta) : null;
  // BATCH=N: rows per session.run at most; BATCH=1 runs a stateful model one value per call, state carried.
  const maxBatch = Number(process.env.BATCH ?? (meta.stateful ? MAX_STEP_BATCH : MAX_BATCH));
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new InputError(`BATCH=${process.env.BATCH}: must be an integer >= 1`);
  }
  const yhat = Array.from({ length: meta.horizon }, (_, i) => `yhat_${i + 1}`);
  const digits = meta.ioDtype === 'float64' ? 17 : 9;       // as predict writes: %.9g, or %.17g
  const jobs = [];
  const emit = (job) => jobs.push(job);
  let headerWritten = false;
  let inputError = null;
  let paused = false;
  let closed = false;

  const writeHeader = () => {       // as soon as the columns are known, like predict
    if (headerWritten || reader.cols === null) return;
    process.stdout.write([...reader.cols.names.map(quote), 'row', ...yhat].join(',') + '\n');
    headerWritten = true;
  };
  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  // Lines of one stdin chunk arrive together; they are parsed first and then run as one batch, so a fast
  // file gets large batches and a slow trickle gets each forecast as soon as its line arrives.
  const drain = async () => {
    writeHeader();
    while (jobs.length > 0) {
      let batch = jobs.splice(0, maxBatch);
      let forecasts;
      if (store !== null) {
        ({ jobs: batch, y: forecasts } = await runSteps(session, store, batch, warmup));
      } else {
        const y = await runBatch(session, meta, batch);
        forecasts = batch.map((_, i) => y.subarray(i * meta.horizon, (i + 1) * meta.horizon));
      }
      const out = batch.map((job, i) => {
        const f = Array.from(forecasts[i], (v) => formatG(v, digits));
        return [...job.passed.map(quote), job.row, ...f].join(',') + '\n';
      });
      process.stdout.write(out.join(''));
      if (paused && !closed && jobs.length < maxBatch) {
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
  const read = (step) => {
    try {
      step();
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      inputError = e;              // forecasts of every valid line before it are still written
      input.close();
    }
  };

  input.on('line', (line) => {
    if (inputError) return;
    read(() => reader.push(line, emit));
    if (jobs.length >= 8 * maxBatch && !paused) {      // keep memory flat when the model is the bottleneck
      paused = true;
      input.pause();
    }
    schedule();
  });
  await new Promise((resolve) => input.on('close', () => { closed = true; resolve(); }));
  if (!inputError) read(() => reader.finish(emit));    // a short input: decide on all of it
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  await tick();
  await draining;
  await drain();
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

module.exports = { formatG, parseNumber, splitFields, decide, InputError, SeriesReader };
