// Timing helpers shared by the Node benchmark harnesses (bench_calls.js,
// bench_data.js).

/** Nanoseconds of CPU time this process has used (all its threads). */
function cpuNs() {
  const { user, system } = process.cpuUsage()
  return (user + system) * 1000
}

/**
 * Medians of one op over `batches` timed batches of `perBatch` calls of `fn`
 * (after one untimed batch): `wall` in wall-clock ns, `cpu` in ns of the
 * process's CPU time, which other processes on the machine do not stretch.
 * `perOp` divides further (e.g. host calls per guest call).
 */
function medians(fn, perBatch, batches, perOp = 1) {
  for (let i = 0; i < perBatch; i++) fn()
  const wall = []
  const cpu = []
  for (let b = 0; b < batches; b++) {
    const cpuStart = cpuNs()
    const start = process.hrtime.bigint()
    for (let i = 0; i < perBatch; i++) fn()
    wall.push(Number(process.hrtime.bigint() - start) / (perBatch * perOp))
    cpu.push((cpuNs() - cpuStart) / (perBatch * perOp))
  }
  return { wall: median(wall), cpu: median(cpu) }
}

/** Same for a function returning a promise (Extism's calls are async). */
async function mediansAsync(fn, perBatch, batches, perOp = 1) {
  for (let i = 0; i < perBatch; i++) await fn()
  const wall = []
  const cpu = []
  for (let b = 0; b < batches; b++) {
    const cpuStart = cpuNs()
    const start = process.hrtime.bigint()
    for (let i = 0; i < perBatch; i++) await fn()
    wall.push(Number(process.hrtime.bigint() - start) / (perBatch * perOp))
    cpu.push((cpuNs() - cpuStart) / (perBatch * perOp))
  }
  return { wall: median(wall), cpu: median(cpu) }
}

/** The wall-clock median of `medians`. */
function medianNs(fn, perBatch, batches, perOp = 1) {
  return medians(fn, perBatch, batches, perOp).wall
}

/** The wall-clock median of `mediansAsync`. */
async function medianNsAsync(fn, perBatch, batches, perOp = 1) {
  return (await mediansAsync(fn, perBatch, batches, perOp)).wall
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function check(cond, what) {
  if (!cond) throw new Error(`benchmark self-check failed: ${what}`)
}

module.exports = { medians, mediansAsync, medianNs, medianNsAsync, median, check }
