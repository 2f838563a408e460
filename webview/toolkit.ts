// The only module that knows about @vscode/webview-ui-toolkit (deprecated upstream).
// Swapping to @vscode-elements/elements means rewriting this file alone: the rest of
// the page asks for controls through these functions and plain DOM events.
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDataGrid,
  vsCodeDataGridCell,
  vsCodeDataGridRow,
  vsCodeRadio,
  vsCodeRadioGroup,
  type DataGrid,
} from '@vscode/webview-ui-toolkit';

let registered = false;

export function registerToolkit(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeDataGrid(), vsCodeDataGridRow(), vsCodeDataGridCell(), vsCodeRadio(), vsCodeRadioGroup());
}

export function createButton(label: string, options: { secondary?: boolean; title?: string } = {}): HTMLElement {
  const button = document.createElement('vscode-button');
  button.textContent = label;
  if (options.secondary) button.setAttribute('appearance', 'secondary');
  if (options.title) button.title = options.title;
  return button;
}

export function setDisabled(control: HTMLElement, disabled: boolean): void {
  control.toggleAttribute('disabled', disabled);
}

/** A checkbox whose label slot holds `label` (any nodes); `onChange` gets the new state. */
export function createCheckbox(label: Node | string, checked: boolean, onChange: (checked: boolean) => void): HTMLElement {
  const box = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
  box.append(label);
  box.checked = checked;
  box.addEventListener('change', () => onChange(box.checked));
  return box;
}

export function setChecked(box: HTMLElement, checked: boolean): void {
  const control = box as HTMLElement & { checked: boolean };
  if (control.checked !== checked) control.checked = checked;
}

export function isChecked(box: HTMLElement): boolean {
  return (box as HTMLElement & { checked: boolean }).checked;
}

export function createRadioGroup(label: string, choices: { value: string; label: string }[], value: string, onChange: (value: string) => void): HTMLElement {
  const group = document.createElement('vscode-radio-group') as HTMLElement & { value: string };
  const legend = document.createElement('label');
  legend.slot = 'label';
  legend.textContent = label;
  group.append(legend);
  for (const choice of choices) {
    const radio = document.createElement('vscode-radio');
    radio.setAttribute('value', choice.value);
    radio.textContent = choice.label;
    if (choice.value === value) radio.setAttribute('checked', '');
    group.append(radio);
  }
  group.addEventListener('change', () => {
    if (group.value) onChange(group.value);
  });
  return group;
}

export function setRadioValue(group: HTMLElement, value: string): void {
  const control = group as HTMLElement & { value: string };
  if (control.value !== value) control.value = value;
}

export interface GridColumn {
  key: string;
  title: string;
  /** CSS grid track size; defaults to minmax(6em, 1fr). */
  width?: string;
}

export function createDataGrid(columns: GridColumn[], ariaLabel: string): HTMLElement {
  const grid = document.createElement('vscode-data-grid') as unknown as DataGrid;
  grid.setAttribute('aria-label', ariaLabel);
  grid.setAttribute('generate-header', 'sticky');
  grid.columnDefinitions = columns.map((c) => ({ columnDataKey: c.key, title: c.title }));
  grid.gridTemplateColumns = columns.map((c) => c.width ?? 'minmax(6em, 1fr)').join(' ');
  return grid as unknown as HTMLElement;
}

export function setDataGridRows(grid: HTMLElement, rows: Record<string, string>[]): void {
  (grid as unknown as DataGrid).rowsData = rows;
}
