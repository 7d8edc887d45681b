/** The extension's chip icon: themed in menus and the palette, a fixed blue on launcher cards. */
import { LabIcon } from '@jupyterlab/ui-components';

const CHIP_PATHS =
  '<path d="M7 5h10a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2zm1 3v8h8V8z"/>' +
  '<path d="M9 1h2v3H9zm4 0h2v3h-2zM9 20h2v3H9zm4 0h2v3h-2zM1 9h3v2H1zm0 4h3v2H1zm19-4h3v2h-3zm0 4h3v2h-3z"/>';

function chipSvg(group: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g ${group}>${CHIP_PATHS}</g></svg>`;
}

export const chipIcon = new LabIcon({
  name: 'jupyter-pyvariant:chip',
  svgstr: chipSvg('class="jp-icon3" fill="#616161"')
});

/**
 * The launcher draws a Notebook card's icon from an image URL (a kernel's logo), where theme
 * variables do not reach: a mid blue that reads on the light and the dark card.
 */
export const CHIP_IMAGE_URL = `data:image/svg+xml,${encodeURIComponent(chipSvg('fill="#1e88e5"'))}`;
