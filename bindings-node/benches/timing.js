// Timing helpers shared by the Node benchmark harnesses (bench_calls.js,
// bench_data.js).

/** Median ns of one op over `batches` timed batches of `perBatch` calls of `fn`. */
function medianNs(fn, perBatch, batches, perOp = 1) {
  for (let i = 0; i < perBatch; i++) fn()
  const samples = []
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < perBatch; i++) fn()
    samples.push(Number(process.hrtime.bigint() - start) / (perBatch * perOp))
  }
  return median(samples)
}

/** Same for a function returning a promise (Extism's calls are async). */
async function medianNsAsync(fn, perBatch, batches, perOp = 1) {
  for (let i = 0; i < perBatch; i++) await fn()
  const samples = []
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < perBatch; i++) await fn()
    samples.push(Number(process.hrtime.bigint() - start) / (perBatch * perOp))
  }
  return median(samples)
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function check(cond, what) {
  if (!cond) throw new Error(`benchmark self-check failed: ${what}`)
}

module.exports = { medianNs, medianNsAsync, median, check }
