/** The "Show host report" dialog: a summary table, advice, and the full JSON on demand. */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { element } from './dom';
import { adviceLines, IHostReport, summaryRows } from './hostReport';

export async function showHostReport(report: IHostReport): Promise<void> {
  await showDialog({
    title: 'Host report',
    body: new Widget({ node: reportNode(report) }),
    buttons: [Dialog.okButton({ label: 'Close' })]
  });
}

/**
 * Build the report view with DOM calls and textContent only: every value comes from the machine
 * (hostnames, CPU model strings) and is never interpreted as HTML.
 */
export function reportNode(report: IHostReport): HTMLElement {
  const root = element('div', 'jp-pyvariant-report');
  const table = element('table', 'jp-pyvariant-report-table');
  for (const [label, value] of summaryRows(report)) {
    const row = table.insertRow();
    row.appendChild(element('th', '', label));
    row.appendChild(element('td', '', value));
  }
  root.appendChild(table);
  const advice = adviceLines(report);
  if (advice.length) {
    const list = element('ul', 'jp-pyvariant-report-advice');
    advice.forEach(line => list.appendChild(element('li', '', line)));
    root.appendChild(list);
  }
  const details = element('details', 'jp-pyvariant-report-json');
  details.appendChild(element('summary', '', 'Full report (JSON)'));
  details.appendChild(element('pre', '', JSON.stringify(report, null, 2)));
  root.appendChild(details);
  return root;
}
