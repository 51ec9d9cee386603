"""sarathi.sim.broker: the paper broker behind the sim's Dhan trading API.

`engine.PaperBroker` is the entry point (implements `port.Broker`); `wire` maps Dhan's request
bodies into its commands; `views` and `alerts` render its state in Dhan's REST and order-update
shapes. Inside: `book` (state and fills), `orders`, `super_orders` + `super_model`, `matching`,
`positions`, `funds`, `controls` (kill switch, P&L exit), `config`.
"""
