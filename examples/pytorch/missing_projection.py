"""A residual block whose shortcut is always the identity. The first block of
stage 2 halves the resolution and doubles the channels, so `out + x` fails there:
Residual Lens marks the addition and offers to insert a projection shortcut."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out + x
        return F.relu(out)


class SmallResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
        self.stage1 = nn.Sequential(Block(16, 16), Block(16, 16))
        self.stage2 = nn.Sequential(Block(16, 32, stride=2), Block(32, 32))
        self.head = nn.Linear(32, num_classes)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = self.stage2(self.stage1(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


if __name__ == "__main__":
    SmallResNet()(torch.randn(2, 3, 32, 32))
