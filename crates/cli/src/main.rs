//! `msync`: the command line. See `msync --help`.

use clap::Parser;

fn main() {
    let cli = msync_cli::app::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(msync_cli::app::run(cli));
    std::process::exit(code);
}
