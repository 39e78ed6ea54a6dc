// npm run seed -- [--users 100000] [--groups 1000] [--projects 10000] [--memberships 50000] [--data-dir DIR]
// Fills a Gatehouse database with a realistic directory for benchmarks and demos.
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadConfig } from '../src/config.ts'
import { openDatabase } from '../src/db/client.ts'
import { applyMigrations } from '../src/db/migrate.ts'
import { seedDirectory } from './seed-directory.ts'

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    groups: { type: 'string', default: '1000' },
    projects: { type: 'string', default: '10000' },
    memberships: { type: 'string', default: '50000' },
    'data-dir': { type: 'string' },
  },
})

const config = loadConfig({ ...process.env, ...(values['data-dir'] ? { DATA_DIR: values['data-dir'] } : {}) })
const db = openDatabase(join(config.dataDir, 'gatehouse.sqlite'))
applyMigrations(db)
const started = performance.now()
const counts = await seedDirectory(db, {
  users: Number(values.users),
  groups: Number(values.groups),
  projects: Number(values.projects),
  memberships: Number(values.memberships),
})
db.$client.close()
process.stdout.write(`Seeded ${config.dataDir}: ${JSON.stringify(counts)} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
