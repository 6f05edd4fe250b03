// Replays a Dockerfile's COPY and RUN steps in temporary folders, one per stage, the stage's
// WORKDIR mapped onto its folder: the image's own install and build commands run as written,
// without a Docker engine. Base image contents are not reproduced, so a COPY out of an image or
// out of a path outside WORKDIR is refused.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './app.js';
import { copyOf, envOf, isIgnored, parseDockerfile, readDockerignore, type Stage } from './dockerfile.js';

/** One replayed stage: the folder standing for its WORKDIR, and its environment. */
export interface ReplayedStage {
  stage: Stage;
  workdir: string;
  dir: string;
  env: Record<string, string>;
}

/** Copies `src` (file or folder) to `dest`, leaving out what `skip` names (relative to ROOT). */
function copyTree(src: string, dest: string, skip: (rel: string) => boolean) {
  if (skip(path.relative(ROOT, src).split(path.sep).join('/'))) return;
  if (fs.statSync(src).isDirectory()) {
    fs.mkdirSync(dest, { recursive: true });
    for (const f of fs.readdirSync(src)) copyTree(path.join(src, f), path.join(dest, f), skip);
  } else {
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(src, dest);
  }
}

/** This process's environment without the npm_* variables an outer `npm test` sets. */
export const outerEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))) as Record<string, string>;

/** A path of the image, inside the stage's WORKDIR, as a path on this machine. */
export function local(st: ReplayedStage, p: string): string {
  const abs = path.posix.resolve(st.workdir, p);
  if (abs !== st.workdir && !abs.startsWith(st.workdir + '/')) throw new Error(`cannot replay ${p}: outside WORKDIR ${st.workdir}`);
  return path.join(st.dir, path.posix.relative(st.workdir, abs));
}

/**
 * Replays every stage of `dockerfile` under `root`; RUN steps get `runEnv` on top of the stage's
 * ENV (a warm npm cache, say). Returns the stages in order.
 */
export function replay(dockerfile: string, root: string, runEnv: Record<string, string>): ReplayedStage[] {
  const stages = parseDockerfile(fs.readFileSync(dockerfile, 'utf8'));
  const rules = readDockerignore(path.join(ROOT, '.dockerignore'));
  const done: ReplayedStage[] = [];
  for (const [i, stage] of stages.entries()) {
    const st: ReplayedStage = { stage, workdir: '/', dir: path.join(root, stage.name ?? `stage-${i}`), env: {} };
    fs.mkdirSync(st.dir, { recursive: true });
    for (const ins of stage.instructions) {
      if (ins.keyword === 'WORKDIR') st.workdir = path.posix.resolve(st.workdir, ins.args);
      else if (ins.keyword === 'ENV') Object.assign(st.env, envOf(ins));
      else if (ins.keyword === 'COPY') {
        const { from, sources, dest } = copyOf(ins);
        const source = from === undefined ? undefined : done.find((d) => d.stage.name === from);
        if (from !== undefined && !source) throw new Error(`cannot replay COPY --from=${from}: not a stage`);
        for (const src of sources) {
          const abs = source ? local(source, src) : path.join(ROOT, src);
          const target = dest.endsWith('/') && !fs.statSync(abs).isDirectory() ? path.join(local(st, dest), path.basename(src)) : local(st, dest);
          copyTree(abs, target, source ? () => false : (rel) => rel !== '' && isIgnored(rules, rel));
        }
      } else if (ins.keyword === 'RUN') {
        execFileSync('sh', ['-c', ins.args], { cwd: st.dir, env: { ...outerEnv(), ...st.env, ...runEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      }
    }
    done.push(st);
  }
  return done;
}

/** A fresh temporary folder. */
export const tempDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** Every file under `dir` with its size and mtime, to show that nothing was written. */
export function snapshot(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .sort()
    .map((f) => {
      const s = fs.lstatSync(path.join(dir, f));
      return `${f} ${s.size} ${s.mtimeMs}`;
    });
}

