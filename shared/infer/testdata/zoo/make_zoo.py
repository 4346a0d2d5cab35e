#!/usr/bin/env python3
"""Build the Keras model zoo and its golden outputs from the official runtime.

    pip install tensorflow-cpu ai-edge-litert
    python3 shared/infer/testdata/zoo/make_zoo.py [NAME ...]

Every architecture is built with random weights (fixed seed), converted four
ways by the official converter (tf.lite.TFLiteConverter.from_keras_model):

  f32   no optimization
  dr    dynamic range (Optimize.DEFAULT: int8 weights, float activations)
  f16   float16 weights (DEQUANTIZE of FLOAT16 constants)
  int8  full integer with a representative dataset (int8 input and output)

and run by LiteRT (ai_edge_litert, default build: XNNPACK delegate) on a
fixed random input. Files per model: NAME_VARIANT.tflite, .inK.bin (raw
little-endian input K), .outK.bin (LiteRT's output K); cases.json lists them.
Nothing here is computed by the Go code under test.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

K = tf.keras
L = K.layers
HERE = os.path.dirname(os.path.abspath(__file__))


def cnn_small():
    x = K.Input((16, 16, 1))
    y = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = L.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
    y = L.MaxPooling2D(2)(y)
    y = L.Conv2D(12, 3, strides=1, padding="valid")(y)
    y = L.AveragePooling2D(2)(y)
    y = L.Flatten()(y)
    y = L.Dense(16, activation="relu")(y)
    y = L.Dense(10, activation="softmax")(y)
    return K.Model(x, y)


def mobilenet_v2():
    return K.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=10)


def mobilenet_v3_small():
    return K.applications.MobileNetV3Small(input_shape=(32, 32, 3), alpha=0.75, weights=None, classes=10,
                                           include_preprocessing=True)


def efficientnet_block():
    # An EfficientNet MBConv block: expand, depthwise, squeeze-and-excite, project, residual.
    x = K.Input((16, 16, 8))
    y = L.Conv2D(32, 1, use_bias=False)(x)
    y = L.BatchNormalization()(y)
    y = L.Activation("swish")(y)
    y = L.DepthwiseConv2D(3, padding="same", use_bias=False)(y)
    y = L.BatchNormalization()(y)
    y = L.Activation("swish")(y)
    s = L.GlobalAveragePooling2D(keepdims=True)(y)
    s = L.Conv2D(4, 1, activation="swish")(s)
    s = L.Conv2D(32, 1, activation="sigmoid")(s)
    y = L.Multiply()([y, s])
    y = L.Conv2D(8, 1, use_bias=False)(y)
    y = L.BatchNormalization()(y)
    y = L.Add()([x, y])
    y = L.GlobalAveragePooling2D()(y)
    y = L.Dense(5)(y)
    return K.Model(x, y)


def resnet_small():
    x = K.Input((16, 16, 3))
    y = L.Conv2D(16, 3, padding="same", use_bias=False)(x)
    y = L.BatchNormalization()(y)
    y = L.ReLU()(y)
    for f, s in [(16, 1), (32, 2)]:
        sc = y
        z = L.Conv2D(f, 3, strides=s, padding="same", use_bias=False)(y)
        z = L.BatchNormalization()(z)
        z = L.ReLU()(z)
        z = L.Conv2D(f, 3, padding="same", use_bias=False)(z)
        z = L.BatchNormalization()(z)
        if s != 1 or sc.shape[-1] != f:
            sc = L.Conv2D(f, 1, strides=s, use_bias=False)(sc)
            sc = L.BatchNormalization()(sc)
        y = L.ReLU()(L.Add()([sc, z]))
    y = L.GlobalAveragePooling2D()(y)
    y = L.Dense(10)(y)
    return K.Model(x, y)


def unet():
    x = K.Input((16, 16, 3))
    c1 = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    p1 = L.MaxPooling2D(2)(c1)
    c2 = L.Conv2D(16, 3, padding="same", activation="relu")(p1)
    p2 = L.MaxPooling2D(2)(c2)
    b = L.Conv2D(16, 3, padding="same", activation="relu")(p2)
    u2 = L.Conv2DTranspose(16, 2, strides=2, padding="same")(b)
    u2 = L.Concatenate()([u2, c2])
    c3 = L.Conv2D(16, 3, padding="same", activation="relu")(u2)
    u1 = L.UpSampling2D(2)(c3)
    u1 = L.Concatenate()([u1, c1])
    c4 = L.Conv2D(8, 3, padding="same", activation="relu")(u1)
    y = L.Conv2D(2, 1, activation="sigmoid")(c4)
    return K.Model(x, y)


def conv1d_audio():
    x = K.Input((64, 4))
    y = L.Conv1D(8, 5, padding="same", activation="relu")(x)
    y = L.MaxPooling1D(2)(y)
    y = L.Conv1D(16, 3, strides=2, activation="relu")(y)
    y = L.AveragePooling1D(2)(y)
    y = L.GlobalAveragePooling1D()(y)
    y = L.Dense(6, activation="softmax")(y)
    return K.Model(x, y)


def text_classifier():
    x = K.Input((20,), dtype="int32")
    y = L.Embedding(50, 8)(x)
    y = L.GlobalAveragePooling1D()(y)
    y = L.Dense(8, activation="relu")(y)
    y = L.Dense(3, activation="softmax")(y)
    return K.Model(x, y)


def transformer_block():
    x = K.Input((8, 16))
    a = L.MultiHeadAttention(num_heads=2, key_dim=8)(x, x)
    y = L.LayerNormalization(epsilon=1e-6)(L.Add()([x, a]))
    f = L.Dense(32, activation="gelu")(y)
    f = L.Dense(16)(f)
    y = L.LayerNormalization(epsilon=1e-6)(L.Add()([y, f]))
    y = L.GlobalAveragePooling1D()(y)
    y = L.Dense(4)(y)
    return K.Model(x, y)


def activations():
    x = K.Input((4, 4, 6))
    y = L.Dense(6)(x)
    outs = [L.LeakyReLU(0.2)(y), L.ELU()(y), L.Activation("sigmoid")(y), L.Activation("tanh")(y),
            L.Activation("hard_swish")(y), L.Activation("gelu")(y), L.ReLU(6.0)(y), L.Softmax()(y)]
    return K.Model(x, L.Concatenate()(outs))


def pad_resize():
    x = K.Input((8, 8, 3))
    y = L.Rescaling(1 / 127.5, offset=-1)(x)
    y = L.ZeroPadding2D(((1, 2), (2, 1)))(y)
    y = L.Conv2D(4, 3)(y)
    a = L.Resizing(12, 12, interpolation="bilinear")(y)
    b = L.Resizing(12, 12, interpolation="nearest")(y)
    c = L.UpSampling2D(2, interpolation="bilinear")(y)
    c = L.Resizing(12, 12)(c)
    return K.Model(x, L.Concatenate()([a, b, c]))


def permute_reshape():
    x = K.Input((6, 4, 3))
    y = L.Permute((3, 1, 2))(x)
    y = L.Reshape((3, 24))(y)
    y = L.Dense(5)(y)
    y = L.Flatten()(y)
    y = L.Dense(7)(y)
    return K.Model(x, y)


def separable():
    x = K.Input((12, 12, 4))
    y = L.SeparableConv2D(8, 3, padding="same", activation="relu")(x)
    y = L.SeparableConv2D(8, 3, strides=2, depth_multiplier=2)(y)
    y = L.GlobalMaxPooling2D()(y)
    y = L.Dense(3)(y)
    return K.Model(x, y)


def binary_ops():
    a = K.Input((4, 6))
    b = K.Input((4, 6))
    ya, yb = L.Dense(6)(a), L.Dense(6)(b)
    out = L.Concatenate()([L.Add()([ya, yb]), L.Subtract()([ya, yb]), L.Multiply()([ya, yb]),
                           L.Maximum()([ya, yb]), L.Minimum()([ya, yb])])
    return K.Model([a, b], [out, L.Dense(2)(L.Flatten()(out))])


def misc_ops():
    x = K.Input((6, 8))
    y = L.Dense(8)(x)
    p, q = L.Lambda(lambda t: tf.split(t, 2, axis=-1))(y)
    s = L.Lambda(lambda t: t[:, 1:5, 2:6])(y)
    sq = L.Lambda(lambda t: tf.squeeze(tf.expand_dims(t, 1), 1))(s)
    sd = L.Lambda(lambda t: tf.math.squared_difference(t[0], t[1]))([p, q])
    r = L.Lambda(lambda t: tf.math.rsqrt(tf.abs(t) + 1.0))(sd)
    m = L.Lambda(lambda t: tf.reduce_max(t, axis=1))(r)
    am = L.Lambda(lambda t: tf.cast(tf.argmax(t, axis=-1), tf.float32))(y)
    return K.Model(x, [L.Flatten()(sq), m, am])


def mlp():
    x = K.Input((12,))
    y = L.Dense(32)(x)
    y = L.BatchNormalization()(y)
    y = L.ReLU()(y)
    y = L.Dropout(0.2)(y)
    y = L.Dense(16, activation="tanh")(y)
    y = L.Dense(4, activation="softmax")(y)
    return K.Model(x, y)


def pool1d_global():
    x = K.Input((32, 6))
    y = L.Conv1D(8, 3, activation="relu", padding="same")(x)
    a = L.GlobalMaxPooling1D()(y)
    b = L.GlobalAveragePooling1D()(y)
    y = L.Concatenate()([a, b])
    return K.Model(x, L.Dense(3)(y))


MODELS = {f.__name__: f for f in [cnn_small, mobilenet_v2, mobilenet_v3_small, efficientnet_block, resnet_small, unet,
                                   conv1d_audio, text_classifier, transformer_block, activations, pad_resize,
                                   permute_reshape, separable, binary_ops, misc_ops, mlp, pool1d_global]}


def sample(model, rng):
    xs = []
    for inp in model.inputs:
        shape = [1] + list(inp.shape[1:])
        if inp.dtype == "int32":
            xs.append(rng.integers(0, 50, size=shape).astype(np.int32))
        else:
            xs.append(rng.uniform(-1, 1, size=shape).astype(np.float32))
    return xs


def convert(model, variant, seed):
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    if variant in ("dr", "f16", "int8"):
        c.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "f16":
        c.target_spec.supported_types = [tf.float16]
    if variant == "int8":
        def rep():
            r = np.random.default_rng(seed + 1)
            for _ in range(32):
                yield sample(model, r)
        c.representative_dataset = rep
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        c.inference_input_type = tf.int8
        c.inference_output_type = tf.int8
    return c.convert()


def run(path, rng_seed):
    ip = Interpreter(model_path=path)
    ip.allocate_tensors()
    rng = np.random.default_rng(rng_seed)
    ins = []
    for d in ip.get_input_details():
        shape, dt = d["shape"], d["dtype"]
        if dt == np.int8:
            v = rng.integers(-128, 128, size=shape).astype(np.int8)
        elif dt == np.int32:
            v = rng.integers(0, 50, size=shape).astype(np.int32)
        else:
            v = rng.uniform(-1, 1, size=shape).astype(np.float32)
        ip.set_tensor(d["index"], v)
        ins.append(v)
    ip.invoke()
    outs = [ip.get_tensor(d["index"]).copy() for d in ip.get_output_details()]
    return ins, outs


def main():
    names = sys.argv[1:] or list(MODELS)
    cases_path = os.path.join(HERE, "cases.json")
    cases = {}
    if os.path.exists(cases_path):
        cases = {c["name"]: c for c in json.load(open(cases_path))}
    for i, name in enumerate(sorted(MODELS)):
        if name not in names:
            continue
        seed = 1000 + i
        K.utils.set_random_seed(seed)
        model = MODELS[name]()
        for variant in ["f32", "dr", "f16", "int8"]:
            tag = f"{name}_{variant}"
            try:
                b = convert(model, variant, seed)
            except Exception as e:  # recorded, not hidden
                print(f"{tag}: convert failed: {e}", file=sys.stderr)
                cases[tag] = {"name": tag, "error": str(e)[:200]}
                continue
            path = os.path.join(HERE, tag + ".tflite")
            open(path, "wb").write(b)
            ins, outs = run(path, seed + 7)
            for k, v in enumerate(ins):
                v.tofile(os.path.join(HERE, f"{tag}.in{k}.bin"))
            for k, v in enumerate(outs):
                v.tofile(os.path.join(HERE, f"{tag}.out{k}.bin"))
            cases[tag] = {"name": tag, "model": name, "variant": variant, "bytes": len(b),
                          "inputs": [{"dtype": str(v.dtype), "shape": list(v.shape)} for v in ins],
                          "outputs": [{"dtype": str(v.dtype), "shape": list(v.shape)} for v in outs]}
            print(f"{tag}: {len(b)} bytes", file=sys.stderr)
    json.dump([cases[k] for k in sorted(cases)], open(cases_path, "w"), indent=1)


if __name__ == "__main__":
    main()
