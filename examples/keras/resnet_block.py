"""A Keras functional residual stack. The second stack changes the filter count
with stride 2 but keeps an identity shortcut: the Add fails there."""
from tensorflow import keras
from tensorflow.keras import layers


def residual_block(x, filters, stride=1, project=False):
    shortcut = x
    if project:
        shortcut = layers.Conv2D(filters, 1, strides=stride)(shortcut)
        shortcut = layers.BatchNormalization()(shortcut)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same")(x)
    y = layers.BatchNormalization()(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same")(y)
    y = layers.BatchNormalization()(y)
    y = layers.Add()([y, shortcut])
    return layers.ReLU()(y)


inputs = keras.Input(shape=(32, 32, 3))
x = layers.Conv2D(16, 3, padding="same")(inputs)
x = residual_block(x, 16)
x = residual_block(x, 32, stride=2)
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs, outputs)
