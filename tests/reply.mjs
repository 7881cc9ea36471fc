// How tests, the demo and the benchmarks read the worker's replies. No side effects: the demo
// (tests/demo.mjs, run by `cargo xtask demo`) imports it without the e2e harness's environment.

/**
 * A reply as the tests read it. On the wire a reply is in serde's default enum form
 * (crates/types/src/protocol.rs): `"ok"`, or `{"site": {"site": {...}}}`; tests read it flat,
 * `{reply: 'site', site: {...}}`. Anything that is not one reply (two keys, an array) comes back
 * as it is, so an assertion on `.reply` fails on it.
 */
export function flat(r) {
  if (typeof r === 'string') return { reply: r };
  if (r && typeof r === 'object' && !Array.isArray(r)) {
    const keys = Object.keys(r);
    if (keys.length === 1 && r[keys[0]] && typeof r[keys[0]] === 'object') {
      return { reply: keys[0], ...r[keys[0]] };
    }
  }
  return r;
}
