// A short "Browser on OS" summary of a User-Agent header for the sessions list. Deliberately
// small: the common browsers and systems by their well-known tokens, anything else "Unknown".

const BROWSERS: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/\bOPR\/(\d+)/, 'Opera'],
  [/\bFirefox\/(\d+)|\bFxiOS\/(\d+)/, 'Firefox'],
  [/\bCriOS\/(\d+)/, 'Chrome'],
  [/\bChrom(?:e|ium)\/(\d+)/, 'Chrome'],
  [/\bVersion\/(\d+)[.\d]* (?:Mobile\/\S+ )?Safari\//, 'Safari'],
  [/\bcurl\/(\d+)/, 'curl'],
]

const SYSTEMS: [RegExp, string][] = [
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
]

/** e.g. "Firefox 128 on Linux"; "Unknown browser" when nothing is recognised (or the header is empty). */
export function summarizeUserAgent(userAgent: string): string {
  let browser: string | null = null
  for (const [pattern, name] of BROWSERS) {
    const m = pattern.exec(userAgent)
    if (m) {
      const version = m.slice(1).find((v) => v !== undefined)
      browser = version ? `${name} ${version}` : name
      break
    }
  }
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1] ?? null
  if (browser && system) return `${browser} on ${system}`
  if (browser) return browser
  if (system) return `Unknown browser on ${system}`
  return 'Unknown browser'
}
