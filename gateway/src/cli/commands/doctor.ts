import type { Command } from 'commander';
import { isProblem, runDoctor, type Finding } from '../../doctor/doctor-checks.js';
import { EXIT } from '../cli-error.js';
import { addConfigOption, addDataDirOption, addJsonOption, cliConfig, cliDataDir, print, printJson, type DataDirFlags } from './cli-context.js';

const MARK: Record<Finding['level'], string> = { ok: '✓', info: '·', optional: '○', warn: '!', error: '✗' };

/**
 * `aiplugs doctor`: checks ports, CA trust, browser, Python, disk space, stale downloads, proxy
 * residue and plugins; every problem comes with a fix, and `--fix` applies the safe ones.
 * Exit 0 when nothing needs attention (optional steps, marked ○, do not count), 5 when something does.
 */
export function registerDoctorCommand(program: Command): void {
  const command = program
    .command('doctor')
    .description('check this machine for everything AiPlugs needs; each problem comes with a fix (exit 5 if any; optional steps do not count)')
    .option('--fix', 'apply the safe automatic fixes (stale runtime.json, stale .part files, proxy left behind)');
  addDataDirOption(command);
  addConfigOption(command);
  addJsonOption(command);
  command.action(async (flags: DataDirFlags & { fix?: boolean }) => {
    const dataDir = cliDataDir(flags);
    const config = await cliConfig(flags);
    let findings = await runDoctor({ dataDir, config, env: process.env });
    const applied: string[] = [];
    if (flags.fix) {
      for (const finding of findings) {
        if (!finding.autoFix) continue;
        try {
          applied.push(`${finding.check}: ${await finding.autoFix()}`);
        } catch (error) {
          applied.push(`${finding.check}: fix failed: ${(error as Error).message}`);
        }
      }
      if (applied.length > 0) findings = await runDoctor({ dataDir, config, env: process.env });
    }
    const problems = findings.filter(isProblem);
    const optional = findings.filter((finding) => finding.level === 'optional');
    if (flags.json) {
      printJson({ ok: problems.length === 0, dataDir, applied, findings: findings.map(({ autoFix, ...rest }) => ({ ...rest, autoFixable: autoFix !== undefined })) });
    } else {
      print(`AiPlugs doctor (data dir ${dataDir})`, '');
      for (const finding of findings) {
        print(`${MARK[finding.level]} [${finding.check}] ${finding.message}`);
        if (finding.fix && finding.level !== 'ok') print(`    ${finding.level === 'optional' ? 'how' : 'fix'}: ${finding.fix}${finding.autoFix ? ' (automatic with --fix)' : ''}`);
      }
      if (applied.length > 0) print('', 'Applied:', ...applied.map((line) => `  ${line}`));
      const steps = optional.length > 0 ? ` ${optional.length} optional step(s) marked ○.` : '';
      print('', `${problems.length === 0 ? 'No problems found.' : `${problems.length} problem(s) need attention.`}${steps}`);
    }
    if (problems.length > 0) process.exitCode = EXIT.problems;
  });
}
