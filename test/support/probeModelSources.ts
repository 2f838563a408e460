// Model sources shared by the Probe This Model tests of the CLI, the server and the
// real VS Code, so that all three ask about the same model.

/** A residual PyTorch model whose file gives no input shape: the probe must ask for one. */
export const tinyResidualWithoutInputShape = [
  'import torch.nn as nn',
  '',
  'class TinyResidual(nn.Module):',
  '    def __init__(self, width=8):',
  '        super().__init__()',
  '        self.stem = nn.Conv2d(3, width, 3, padding=1)',
  '        self.conv = nn.Conv2d(width, width, 3, padding=1)',
  '        self.head = nn.Linear(width, 10)',
  '',
  '    def forward(self, x):',
  '        x = self.stem(x)',
  '        x = x + self.conv(x)',
  '        return self.head(x.mean((2, 3)))',
  '',
].join('\n');
