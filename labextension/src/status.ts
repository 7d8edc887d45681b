/** Status-bar item: the ISA level of the host running the Jupyter server. */
import { Widget } from '@lumino/widgets';

import { IHostReport, isaLevel } from './hostReport';

export class IsaLevelStatus extends Widget {
  constructor(onClick: () => void) {
    super();
    this.addClass('jp-pyvariant-status');
    this.node.textContent = 'ISA: …';
    this.node.title = 'Fetching the server host report…';
    this.node.addEventListener('click', onClick);
  }

  showReport(report: IHostReport): void {
    const level = isaLevel(report);
    this.node.textContent = `ISA: ${level}`;
    this.node.dataset.isaLevel = level;
    const missing = report.cpu.isa_level_missing ?? [];
    const next = report.cpu.isa_next_level;
    this.node.title =
      `The Jupyter server's CPU runs ${level}` +
      (next && missing.length ? `; ${next} would need ${missing.join(', ')}` : '') +
      '. Click for the host report.';
  }

  showError(error: unknown): void {
    this.node.textContent = 'ISA: ?';
    this.node.dataset.isaLevel = 'error';
    this.node.title = `Host report unavailable: ${error instanceof Error ? error.message : String(error)}`;
  }
}
