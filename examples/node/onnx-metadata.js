'use strict';
// Reads an ONNX file's metadata_props (key/value strings) straight from its protobuf bytes.
//
// Why by hand: onnxruntime-node exposes input/output names and shapes but not the model's custom metadata
// map, and a full protobuf library is a heavy dependency for two string fields. An .onnx file is a
// serialized onnx.ModelProto; metadata_props is its field 14, a repeated StringStringEntryProto
// { key = 1; value = 2; }. Every other field is skipped by its wire type.

const METADATA_PROPS = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

function readVarint(buf, pos) {
  // Returns [value, nextPos]; lengths in a model file fit well within Number's 53 bits.
  let value = 0;
  let scale = 1;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const byte = buf[pos++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, pos];
    scale *= 128;
    if (scale > 2 ** 63) throw new Error('varint too long');
  }
}

// Calls onField(fieldNumber, bytes) for each length-delimited field of one message in buf[start, end).
function forEachLengthDelimited(buf, start, end, onField) {
  let pos = start;
  while (pos < end) {
    let tag;
    [tag, pos] = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      [, pos] = readVarint(buf, pos);
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      if (pos + len > end) throw new Error('truncated field');
      onField(field, buf.subarray(pos, pos + len));
      pos += len;
    } else {
      throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
  if (pos !== end) throw new Error('truncated message');
}

/** metadata_props of a serialized ONNX ModelProto, as a plain object {key: value}. */
function readOnnxMetadata(bytes) {
  const props = {};
  forEachLengthDelimited(bytes, 0, bytes.length, (field, entry) => {
    if (field !== METADATA_PROPS) return;
    let key = '';
    let value = '';
    forEachLengthDelimited(entry, 0, entry.length, (f, b) => {
      if (f === ENTRY_KEY) key = Buffer.from(b).toString('utf8');
      else if (f === ENTRY_VALUE) value = Buffer.from(b).toString('utf8');
    });
    props[key] = value;
  });
  return props;
}

module.exports = { readOnnxMetadata };
