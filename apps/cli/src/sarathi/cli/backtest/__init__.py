"""`sarathi backtest`: the services' decision code on minute history (see `engine`)."""
