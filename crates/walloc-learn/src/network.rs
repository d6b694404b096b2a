//! The two classifiers, each the same for every kind of input: a
//! perceptron over the flat values, and a 1-D convolutional network over
//! channels at positions (a latent's channels, or a waveform's one), which
//! sees where each value sits and pools over time.

use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::pool::{MaxPool1d, MaxPool1dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig1d};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// Which classifier.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    /// Three layers: values → 256 → 256 → classes, ReLU.
    Mlp,
    /// Three convolutions (16, 32, 64 filters of 9 taps, ReLU, the first two
    /// followed by max-pooling by 8), mean and max over positions, one
    /// linear layer to the classes.
    Conv,
}

/// The perceptron.
#[derive(Module, Debug)]
pub struct Perceptron {
    first: Linear,
    second: Linear,
    out: Linear,
}

impl Perceptron {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = relu(self.first.forward(x));
        let x = relu(self.second.forward(x));
        self.out.forward(x)
    }
}

/// The convolutional network.
#[derive(Module, Debug)]
pub struct Convolutional {
    convs: Vec<Conv1d>,
    pool: MaxPool1d,
    out: Linear,
    channels: usize,
}

impl Convolutional {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [batch, dim] = x.dims();
        let mut x: Tensor<3> = x.reshape([batch, self.channels, dim / self.channels]);
        let last = self.convs.len() - 1;
        for (i, conv) in self.convs.iter().enumerate() {
            x = relu(conv.forward(x));
            if i < last && x.dims()[2] >= 8 {
                x = self.pool.forward(x);
            }
        }
        let mean: Tensor<2> = x.clone().mean_dim(2).flatten(1, 2);
        let max: Tensor<2> = x.max_dim(2).flatten(1, 2);
        self.out.forward(Tensor::cat(vec![mean, max], 1))
    }
}

/// A classifier of `classes` for rows of `channels × dim / channels` values.
// One network per run: the size of its variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Network {
    /// See [`Net::Mlp`].
    Perceptron(Perceptron),
    /// See [`Net::Conv`].
    Convolutional(Convolutional),
}

impl Network {
    /// A freshly initialized network of kind `net`.
    pub fn new(net: Net, dim: usize, channels: usize, classes: usize, device: &Device) -> Self {
        match net {
            Net::Mlp => Network::Perceptron(Perceptron {
                first: LinearConfig::new(dim, 256).init(device),
                second: LinearConfig::new(256, 256).init(device),
                out: LinearConfig::new(256, classes).init(device),
            }),
            Net::Conv => {
                let widths = [channels, 16, 32, 64];
                let convs = widths
                    .windows(2)
                    .map(|w| {
                        Conv1dConfig::new(w[0], w[1], 9)
                            .with_padding(PaddingConfig1d::Same)
                            .init(device)
                    })
                    .collect();
                Network::Convolutional(Convolutional {
                    convs,
                    pool: MaxPool1dConfig::new(8).init(),
                    out: LinearConfig::new(2 * widths[3], classes).init(device),
                    channels,
                })
            }
        }
    }

    /// Class scores of a batch of rows, `[batch, dim]` → `[batch, classes]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Network::Perceptron(net) => net.forward(x),
            Network::Convolutional(net) => net.forward(x),
        }
    }
}
