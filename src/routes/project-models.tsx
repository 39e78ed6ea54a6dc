import type { Context } from 'hono'
import type { Child } from 'hono/jsx'
import type { AppEnv } from '../http/context.ts'
import type { LoadedProject } from './projects.tsx'
import { ModelsSection } from '../../views/project-models.tsx'

/** The models part of a project page. */
export function projectModelsSection(c: Context<AppEnv>, loaded: LoadedProject): Child {
  void c
  return <ModelsSection status={loaded.project.status} />
}
