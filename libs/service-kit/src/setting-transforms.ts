// zod transforms for settings that hold JSON or name a file (a mounted ConfigMap or secret), shared by every
// service's config so they all report such a setting the same way — and never echo its content.

import { z } from 'zod';

/** Parses a setting's JSON text; an invalid one is an issue that does not quote the text (it may hold secrets). */
export function parseJsonSetting(text: string, ctx: z.RefinementCtx): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
    return z.NEVER;
  }
}

/** A transform reading the file a setting names, once, at start-up; an unreadable file is an issue naming it. */
export function readSettingFile(readFile: (path: string) => string) {
  return (path: string, ctx: z.RefinementCtx): string => {
    try {
      return readFile(path);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `cannot read ${path} (${fileErrorCode(error)})` });
      return z.NEVER;
    }
  };
}

/** The error code of a failed file read (ENOENT, EACCES…), for messages. */
export function fileErrorCode(error: unknown): string {
  return String((error as { code?: unknown } | null)?.code ?? 'unreadable');
}
