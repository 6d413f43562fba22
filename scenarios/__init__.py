"""The casino journeys, one file each. Every ``Scenario`` subclass here is found automatically."""
