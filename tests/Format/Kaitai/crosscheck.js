#!/usr/bin/env node
// Kaitai cross-check of the cryo checkpoint format.
//
//   node crosscheck.js [--ksy PATH] FILE.cryo
//
// Compiles formats/cryo.ksy (or PATH) with the kaitai-struct-compiler npm package at run time
// (target javascript; no generated parser is kept anywhere), parses FILE with the generated
// parser and the kaitai-struct runtime, and prints the file as JSON in the shape of
// `cryo-dump --json` (schema "cryo-dump/1", src/Cryo.Dump/JsonPrinter.cs): header fields, every
// item (index, offset, tag, frame, critical, length, fields) and the trailer. The C# test
// KaitaiCrossCheckTests compares that output with what Cryo.Format's reader and cryo-dump's own
// JsonPrinter produce for the same file, field by field.
//
// The script knows nothing about individual item kinds: everything comes from the .ksy.
//   - A frame's payload type is the ksy `item.payload` switch case of its tag.
//   - A type's fields are its `seq` attributes in order, minus `len_X` (length of the string X),
//     `num_X` (count of the list X) and attributes marked `-cryo-dump: hidden`; the attribute
//     id is the field name.
//   - Integers are printed as numbers. Byte strings preceded by their `len_X` (paths, names)
//     and `str` attributes are printed escaped as C#'s ItemFieldFormatter.EscapeBytes does
//     (printable ASCII 0x20..0x7E except backslash and double quote as is, any other byte as
//     \xNN, lower-case hex). Other byte arrays (memory, pipe data, XSAVE area, siginfo data)
//     are printed as {length, crc32c} with CRC-32C (Castagnoli) computed here.
//   - An attribute marked `-cryo-dump: ip-address` (16 address bytes) is printed as the text
//     cryo-dump prints (System.Net.IPAddress.ToString): dotted IPv4 from the first 4 bytes when
//     the `family` attribute beside it is 2, else IPv6 (ipAddressText below).
//   - Lists of a user type (with or without arguments) are printed as arrays of field objects.
//
// 64-bit integers: the kaitai-struct runtime reads u8/s8 into JavaScript Numbers, which are
// exact only up to 2^53. This script replaces the runtime's 64-bit readers with exact BigInt
// versions (DataView.getBigUint64/getBigInt64) before parsing and prints BigInts as plain
// decimal digits, so every u8/s8 value in the output is exact and can be compared with C#'s
// ulong/long digit for digit (no rounding to doubles anywhere).
//
// Like the C# reader (with returnUnknownItems, as cryo-dump uses it), unknown optional items
// are printed with frame "unknown" and a single `payload` blob field, and unknown optional
// sections are skipped with everything in them (their frames still count in `index`). The
// script also checks what the reader checks and a Kaitai description alone cannot express:
// the header, frame and chain checksums, the trailer's item count, section nesting, that a
// decoded payload has no bytes after its last field, and that nothing follows the trailer.
//
// Exit codes: 0 ok; 1 the file could not be parsed or failed a check; 2 usage;
// 3 the npm packages are not installed (run `npm ci` in tests/Format/Kaitai).
'use strict';

const fs = require('fs');
const path = require('path');

const HERE = __dirname;
const DEFAULT_KSY = path.resolve(HERE, '..', '..', '..', 'formats', 'cryo.ksy');
const MAX_SECTION_DEPTH = 8;

function fail(code, message) {
  process.stderr.write(`crosscheck: ${message}\n`);
  process.exit(code);
}

function loadDependency(name) {
  try {
    return require(name);
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND') {
      fail(3, `npm package '${name}' is not installed: run \`npm ci\` in ${HERE} ` +
        `(from the repository root: npm ci --prefix tests/Format/Kaitai)`);
    }
    throw e;
  }
}

// ---- CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, init and final XOR 0xFFFFFFFF ----

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) ? (0x82F63B78 ^ (c >>> 1)) : (c >>> 1);
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32cUpdate(state, bytes) {
  let c = state;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xFF] ^ (c >>> 8);
  return c >>> 0;
}

function crc32c(bytes) {
  return (crc32cUpdate(0xFFFFFFFF, bytes) ^ 0xFFFFFFFF) >>> 0;
}

function u32le(v) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}

// ---- value formatting ----

/** Same as C#'s ItemFieldFormatter.EscapeBytes. */
function escapeBytes(bytes) {
  let s = '';
  for (const b of bytes) {
    if (b >= 0x20 && b < 0x7F && b !== 0x5C && b !== 0x22) s += String.fromCharCode(b);
    else s += '\\x' + b.toString(16).padStart(2, '0');
  }
  return s;
}

function blob(bytes) {
  return { length: bytes.length, crc32c: crc32c(bytes) };
}

/**
 * An IP address as cryo-dump prints it, System.Net.IPAddress.ToString of 4 or 16 bytes: IPv4
 * dotted; IPv6 as lower-case hex groups without leading zeros, the longest run of two or more zero
 * groups (the first of equal runs) as "::", and the last 4 bytes dotted when .NET sees an embedded
 * IPv4 address: ::a.b.c.d (the 7th group not 0), ::ffff:a.b.c.d, ::ffff:0:a.b.c.d, and ISATAP's
 * x:x:x:x:0:5efe:a.b.c.d.
 */
function ipAddressText(bytes, family) {
  if (bytes.length !== 16) throw new Error(`an IP address of ${bytes.length} bytes, not 16`);
  if (family === 2) return Array.from(bytes.subarray(0, 4)).join('.');
  const g = [];
  for (let i = 0; i < 8; i++) g.push((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  const embedded = (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[6] !== 0 &&
      ((g[4] === 0 && (g[5] === 0 || g[5] === 0xffff)) || (g[4] === 0xffff && g[5] === 0)))
    || (g[4] === 0 && g[5] === 0x5efe);
  if (!embedded) return ipv6Groups(g);
  const head = ipv6Groups(g.slice(0, 6));
  return head + (head.endsWith(':') ? '' : ':') + Array.from(bytes.subarray(12)).join('.');
}

function ipv6Groups(groups) {
  let start = -1, longest = 0;
  for (let i = 0, run = 0; i < groups.length; i++) {
    run = groups[i] === 0 ? run + 1 : 0;
    if (run > longest) { longest = run; start = i - run + 1; }
  }
  const hex = list => list.map(x => x.toString(16)).join(':');
  return longest < 2 ? hex(groups) : hex(groups.slice(0, start)) + '::' + hex(groups.slice(start + longest));
}

/** JSON with BigInt printed as exact decimal digits, indented like Utf8JsonWriter's Indented. */
function toJson(value, indent = '') {
  const inner = indent + '  ';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`non-integer or unsafe number ${value} in output`);
    return String(value);
  }
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return '[\n' + value.map(v => inner + toJson(v, inner)).join(',\n') + '\n' + indent + ']';
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return '{}';
  return '{\n' + keys.map(k => inner + JSON.stringify(k) + ': ' + toJson(value[k], inner)).join(',\n') + '\n' + indent + '}';
}

// ---- the .ksy and the generated parser ----

/** The JavaScript property name KSC generates for an attribute id (lower camel case). */
function jsName(id) {
  return id.split('_').map((part, i) => i === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1)).join('');
}

async function compileParser(ksyPath) {
  const compiler = loadDependency('kaitai-struct-compiler');
  const yaml = loadDependency('js-yaml');
  const KaitaiStream = loadDependency('kaitai-struct/KaitaiStream');

  let ksy;
  try {
    ksy = yaml.load(fs.readFileSync(ksyPath, 'utf8'));
  } catch (e) {
    fail(1, `cannot read ${ksyPath}: ${e.message}`);
  }
  let files;
  try {
    // Debug mode: every object records start/end offsets of its attributes (frame offsets,
    // checksum ranges) and _read() is called explicitly.
    files = await compiler.compile('javascript', ksy, null, true);
  } catch (e) {
    fail(1, `kaitai-struct-compiler ${compiler.version} rejected ${ksyPath}: ${e && e.message ? e.message : e}`);
  }
  const names = Object.keys(files);
  if (names.length !== 1) fail(1, `expected one generated JavaScript file, got ${names.join(', ')}`);
  const exportsObject = {};
  const moduleObject = { exports: exportsObject };
  // The generated file is a UMD module that requires 'kaitai-struct/KaitaiStream'; this
  // script's require resolves it from tests/Format/Kaitai/node_modules.
  new Function('exports', 'require', 'module', files[names[0]])(exportsObject, require, moduleObject);
  const className = Object.keys(exportsObject)[0];
  const Parser = exportsObject[className];
  if (typeof Parser !== 'function') fail(1, `the generated module exports no parser (${Object.keys(exportsObject)})`);

  patch64BitReaders(KaitaiStream);
  return { ksy, Parser, KaitaiStream };
}

/** Exact 64-bit reads: BigInt instead of the runtime's lossy Number. */
function patch64BitReaders(KaitaiStream) {
  const p = KaitaiStream.prototype;
  const reader = (method, littleEndian) => function () {
    this.ensureBytesLeft(8);
    const v = this._dataView[method](this.pos, littleEndian);
    this.pos += 8;
    return v;
  };
  p.readU8le = reader('getBigUint64', true);
  p.readS8le = reader('getBigInt64', true);
  p.readU8be = reader('getBigUint64', false);
  p.readS8be = reader('getBigInt64', false);
}

// ---- describing parsed objects as cryo-dump fields ----

class Describer {
  constructor(ksy) {
    this.types = ksy.types || {};
    const payload = (this.types.item && this.types.item.seq || []).find(a => a.id === 'payload');
    if (!payload || !payload.type || !payload.type['switch-on'])
      throw new Error("the .ksy has no type 'item' with a switched 'payload'");
    this.payloadTypes = {};
    for (const [key, type] of Object.entries(payload.type.cases)) {
      const tag = String(key).replace(/^"(.*)"$/, '$1');
      this.payloadTypes[tag] = type;
    }
  }

  /** The fields of a parsed object of the ksy type `typeName`, in seq order. */
  fields(obj, typeName, where) {
    const type = this.types[typeName];
    if (!type) throw new Error(`${where}: no type '${typeName}' in the .ksy`);
    const out = {};
    for (const attr of type.seq || []) {
      if (attr['-cryo-dump'] === 'hidden' || /^(len|num)_/.test(attr.id)) continue;
      const prop = jsName(attr.id);
      if (!(prop in obj)) throw new Error(`${where}: parsed ${typeName} has no property '${prop}' for '${attr.id}'`);
      out[attr.id] = attr['-cryo-dump'] === 'ip-address'
        ? ipAddressText(obj[prop], obj.family)
        : this.value(obj[prop], attr, `${where}.${attr.id}`);
    }
    return out;
  }

  value(v, attr, where) {
    if (attr.repeat) {
      if (!Array.isArray(v)) throw new Error(`${where}: expected a list`);
      const entryType = String(attr.type).replace(/\(.*\)$/s, ''); // a user type, maybe with arguments: epoll_watch(...)
      if (!this.types[entryType]) throw new Error(`${where}: lists of '${attr.type}' are not supported (use a user type)`);
      return v.map((entry, i) => this.fields(entry, entryType, `${where}[${i}]`));
    }
    if (typeof v === 'number' || typeof v === 'bigint') return v;
    if (attr.type === 'str') return escapeBytes(Buffer.from(v, 'utf8'));
    if (v instanceof Uint8Array) return attr.size === `len_${attr.id}` ? escapeBytes(v) : blob(v);
    throw new Error(`${where}: no cryo-dump form for a value of type ${typeof v} (${attr.type || 'bytes'})`);
  }
}

// ---- the file ----

function crossCheck(file, buffer, parsed) {
  const { ksy, Parser, KaitaiStream } = parsed;
  const describer = new Describer(ksy);
  const root = new Parser(new KaitaiStream(buffer));
  try {
    root._read();
  } catch (e) {
    // The generated parser keeps the frame that failed as the last element of `items`.
    let where = 'the header';
    if (Array.isArray(root.items) && root.items.length > 0) {
      const n = root.items.length - 1;
      const debug = root._debug.items && root._debug.items.arr[n];
      where = `item #${n} '${root.items[n].tag}' (frame at byte ${debug ? debug.start : '?'})`;
    }
    throw new Error(`Kaitai parse failed in ${where}: ${e && e.name ? e.name + ': ' : ''}${e && e.message ? e.message : e}`);
  }

  const header = root.header;
  const headerEnd = header._debug.crc.start;
  if (crc32c(buffer.subarray(0, headerEnd)) !== header.crc)
    throw new Error(`header checksum mismatch: stored 0x${header.crc.toString(16)}, computed 0x${crc32c(buffer.subarray(0, headerEnd)).toString(16)}`);
  let chain = crc32cUpdate(0xFFFFFFFF, u32le(header.crc));

  const frames = root.items;
  const starts = root._debug.items.arr.map(d => d.start);
  const items = [];
  const sections = [];
  let skipping = 0;
  for (let i = 0; i < frames.length - 1; i++) {
    const f = frames[i];
    const offset = starts[i];
    const name = `item #${i} '${f.tag}' at byte ${offset}`;
    const frameEnd = f._debug.crc.start;
    const computed = crc32c(buffer.subarray(offset, frameEnd));
    if (computed !== f.crc) throw new Error(`${name}: checksum mismatch: stored 0x${f.crc.toString(16)}, computed 0x${computed.toString(16)}`);
    chain = crc32cUpdate(chain, u32le(f.crc));
    if (f.isSectionBegin && f.isSectionEnd) throw new Error(`${name}: both begins and ends a section`);
    if (f.isSectionFrame && f.length !== 0) throw new Error(`${name}: a section frame has ${f.length} payload bytes`);

    const entry = (frame, fields) => ({
      index: i, offset, tag: f.tag, frame, critical: f.isCritical, length: f.length, fields,
    });
    const typeName = describer.payloadTypes[f.tag];

    if (f.isSectionBegin) {
      if (sections.length === MAX_SECTION_DEPTH) throw new Error(`${name}: sections nest more than ${MAX_SECTION_DEPTH} deep`);
      if (skipping === 0 && typeName) throw new Error(`${name}: '${f.tag}' is not a section`);
      const skip = skipping > 0 || !f.isKnownSection;
      if (skipping === 0 && !f.isKnownSection && f.isCritical) throw new Error(`${name}: unknown critical section`);
      sections.push({ tag: f.tag, skip });
      if (skip) { skipping++; continue; }
      items.push(entry('begin', {}));
      continue;
    }
    if (f.isSectionEnd) {
      const open = sections[sections.length - 1];
      if (!open || open.tag !== f.tag) throw new Error(`${name}: END does not close the open section (${open ? `'${open.tag}'` : 'none'})`);
      sections.pop();
      if (open.skip) { skipping--; continue; }
      items.push(entry('end', {}));
      continue;
    }
    if (skipping > 0) continue;
    if (f.isKnownSection) throw new Error(`${name}: a section tag cannot stand as a plain item`);
    if (!typeName) {
      if (f.isCritical) throw new Error(`${name}: unknown critical item`);
      items.push(entry('unknown', { payload: blob(f.payload) }));
      continue;
    }
    const payload = f.payload;
    const left = payload._io.size - payload._io.pos;
    if (left !== 0) throw new Error(`${name}: ${left} bytes after the last field of ${typeName}`);
    if (typeName === 'trailer') throw new Error(`${name}: a trailer before the end`);
    items.push(entry('item', describer.fields(payload, typeName, `item #${i} '${f.tag}'`)));
  }

  const last = frames[frames.length - 1];
  const trailerName = `trailer at byte ${starts[frames.length - 1]}`;
  const trailerCrc = crc32c(buffer.subarray(starts[frames.length - 1], last._debug.crc.start));
  if (trailerCrc !== last.crc) throw new Error(`${trailerName}: checksum mismatch: stored 0x${last.crc.toString(16)}, computed 0x${trailerCrc.toString(16)}`);
  if (sections.length !== 0) throw new Error(`${trailerName}: comes while section '${sections[sections.length - 1].tag}' is open`);
  const trailer = describer.fields(last.payload, 'trailer', 'trailer');
  if (last.payload._io.size !== last.payload._io.pos) throw new Error(`${trailerName}: bytes after the last field`);
  if (BigInt(trailer.item_count) !== BigInt(frames.length - 1))
    throw new Error(`${trailerName}: counts ${trailer.item_count} items but ${frames.length - 1} were read`);
  chain = (chain ^ 0xFFFFFFFF) >>> 0;
  if (Number(trailer.chain_crc) !== chain)
    throw new Error(`${trailerName}: chain checksum mismatch: stored 0x${trailer.chain_crc.toString(16)}, computed 0x${chain.toString(16)}`);
  if (!root._io.isEof()) throw new Error(`${root._io.size - root._io.pos} bytes follow the trailer`);

  return {
    schema: 'cryo-dump/1',
    header: describer.fields(header, 'header', 'header'),
    items,
    trailer,
  };
}

async function main(argv) {
  let ksyPath = DEFAULT_KSY;
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--ksy' && i + 1 < argv.length) ksyPath = path.resolve(argv[++i]);
    else if (argv[i] === '--help' || argv[i] === '-h') {
      process.stdout.write('usage: node crosscheck.js [--ksy PATH] FILE.cryo\n');
      return;
    } else files.push(argv[i]);
  }
  if (files.length !== 1) fail(2, 'usage: node crosscheck.js [--ksy PATH] FILE.cryo');
  const file = files[0];
  let buffer;
  try {
    buffer = fs.readFileSync(file);
  } catch (e) {
    fail(1, `cannot read ${file}: ${e.message}`);
  }
  const parsed = await compileParser(ksyPath);
  let result;
  try {
    result = crossCheck(file, buffer, parsed);
  } catch (e) {
    fail(1, `${file}: ${e && e.message ? e.message : e}`);
  }
  process.stdout.write(toJson(result) + '\n');
}

main(process.argv.slice(2)).catch(e => fail(1, e && e.stack ? e.stack : String(e)));
