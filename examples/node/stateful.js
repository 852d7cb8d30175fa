'use strict';
// A stateful seqinfer model (seqinfer.stateful): one state per series, carried from call to call.
//
//   const store = new StateStore(meta);              // meta.state: seqinfer.state, parsed
//   const { y, seen } = await store.run(session, rows);   // rows [{key, value}] in input order
//
// The step graph takes x [batch, seq, 1], the state (h; c for an LSTM; prev for "diff" scaling), each with the
// batch on axis 0, and seq_lens int32 [batch]; it returns y [batch, seq, horizon], a forecast at every step,
// and the state after each row's last valid step as <name>_next. A call runs every series' rows of the batch
// as one sequence, padded to the longest, as `seqinfer predict` does (infer/stepstate.py): rows grouped by
// series in the order the series first appeared, input order kept within each (rows of a call are independent;
// the same layout only makes the calls the same as predict's). docs/embedding.md#stateful-models

const ort = require('onnxruntime-node');

const SEQ_LENS = 'seq_lens';       // infer/contract.py SEQ_LENS_NAME: not in the metadata, fixed by the contract
const NEXT_SUFFIX = '_next';       // infer/contract.py NEXT_SUFFIX: the state output of input <name>
const ARRAYS = { float32: Float32Array, float64: Float64Array };   // the dtypes seqinfer.state names

class StateStore {
  constructor(meta) {
    this.meta = meta;
    this.names = Object.keys(meta.state);
    this.series = new Map();       // series id -> { code, seen: rows run so far, state: { name: typed array } }
  }

  /** A series not seen yet: each state tensor as seqinfer.state says (h, c zeros; prev NaN: "no value yet"). */
  fresh() {
    const state = {};
    for (const name of this.names) {
      const s = this.meta.state[name];
      state[name] = new ARRAYS[s.dtype](s.size).fill(s.init === 'nan' ? NaN : 0);
    }
    return { code: this.series.size, seen: 0, state };
  }

  /**
   * Rows [{key, value}] in input order -> { y: forecasts [rows * horizon], seen: each row's earlier rows of its
   * series }. One session.run for all of them; every series' state goes in and comes back out updated.
   */
  async run(session, rows) {
    const { horizon, ioDtype, inputName, outputName } = this.meta;
    const groups = new Map();                              // series id -> indices of its rows, input order
    for (let i = 0; i < rows.length; i++) {
      const key = rows[i].key;
      if (!this.series.has(key)) this.series.set(key, this.fresh());
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(i);
    }
    const keys = [...groups.keys()].sort((a, b) => this.series.get(a).code - this.series.get(b).code);
    const B = keys.length;
    const T = Math.max(...keys.map((k) => groups.get(k).length));
    const x = new ARRAYS[ioDtype](B * T);                  // [B, T, 1], zeros past each row's length
    const lens = new Int32Array(B);
    keys.forEach((k, b) => {
      const idx = groups.get(k);
      lens[b] = idx.length;
      idx.forEach((i, t) => { x[b * T + t] = rows[i].value; });   // a float32 model's: rounded, as predict does
    });
    const feeds = {
      [inputName]: new ort.Tensor(ioDtype, x, [B, T, 1]),
      [SEQ_LENS]: new ort.Tensor('int32', lens, [B]),       // each row's real steps: >= 1, so its state carries
    };
    for (const name of this.names) {
      const s = this.meta.state[name];
      const data = new ARRAYS[s.dtype](B * s.size);
      keys.forEach((k, b) => data.set(this.series.get(k).state[name], b * s.size));
      feeds[name] = new ort.Tensor(s.dtype, data, [B, ...s.shape]);
    }
    const out = await session.run(feeds);
    const yAll = out[outputName].data;                     // [B, T, horizon]
    const y = new ARRAYS[ioDtype](rows.length * horizon);
    const seen = new Array(rows.length);
    keys.forEach((k, b) => {
      const series = this.series.get(k);
      groups.get(k).forEach((i, t) => {
        y.set(yAll.subarray((b * T + t) * horizon, (b * T + t + 1) * horizon), i * horizon);
        seen[i] = series.seen + t;
      });
      series.seen += lens[b];
      for (const name of this.names) {                     // the state after this series' last row
        const size = this.meta.state[name].size;
        series.state[name] = out[name + NEXT_SUFFIX].data.slice(b * size, (b + 1) * size);
      }
    });
    return { y, seen };
  }
}

module.exports = { StateStore, ARRAYS, SEQ_LENS, NEXT_SUFFIX };
